#!/usr/bin/env python3
"""The province's table: every deployment's statistics through one contract, read concurrently.

Each region (county, city) runs its own `pbm serve`; the province reads all of them through
`pbm.region.v1.RegionStatisticsService/GetRegionStatistics` (the contract:
proto/pbm/region/v1/region_statistics_service.proto) and prints one row per region and the
province's totals. Stock grpcio, no generated stubs and no .proto files: each deployment's
reflection service gives the message classes at run time (as docs/examples/call_indicator.py),
so deployments on different releases of the same v1 contract are read alike.

    pip install grpcio grpcio-reflection protobuf
    python3 docs/examples/province_statistics.py --year 2026 --tokens tokens.txt \\
        127.0.0.1:50061 127.0.0.1:50062 140521=10.1.2.3:50051

DEPLOYMENT is `HOST:PORT`, optionally named: `NAME=HOST:PORT` (the name labels the row when the
deployment cannot be reached; otherwise the row is labelled by the region code it answers with).
The province token each deployment trusts comes from `--tokens FILE`, lines `HOST:PORT TOKEN`
(blank lines and `#` comments ignored); a deployment not listed there gets `--token TOKEN` or the
environment variable PBM_TOKEN (in production one province key trusted everywhere: one token).
Tokens are never taken as positional arguments, so they stay out of `ps`.

Options: `--group-by department|fund_source|special_field` adds each region's groups under its
row (and, for fund sources and special fields, whose names are national, the province's sums by
group); `--timeout SECONDS` (default 2) is each deployment's deadline, reflection included;
`--json` prints the machine-readable result of `aggregate` instead of the table.

Reading the table: amounts are exact decimals in 元 (summed as decimal.Decimal, never float).
A deployment that cannot be reached or refuses the call is a row `unreachable: <code> <detail>`
or `refused: <code> <detail>` and is left out of the totals, whose label says how many regions
they cover (`合计 (3 of 4 regions)`). A source a region reports as not opened for the year
(`—`) or unavailable (`×`) is shown as such in its columns, never as zeros, with a footnote; the
totals' columns of a source some region could not read are marked `*`, those of a source no
region read are `—`.

Exit status: 0 when every deployment answered with every source read or not opened, 1 otherwise.
"""

import argparse
import concurrent.futures
import decimal
import json
import os
import sys
import time
import unicodedata

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

SERVICE = "pbm.region.v1.RegionStatisticsService"
METHOD = "GetRegionStatistics"
GROUP_BY = {
    None: "GROUP_BY_UNSPECIFIED",
    "department": "GROUP_BY_DEPARTMENT",
    "fund_source": "GROUP_BY_FUND_SOURCE",
    "special_field": "GROUP_BY_SPECIAL_FIELD",
}
# Never route a deployment's address through an http_proxy from the environment.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]
# Codes that mean the deployment was not reached (rather than reached and refusing).
UNREACHED = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED")

# The table's columns: (RegionFigures or PoolFigures field, heading, the source it comes from).
COLUMNS = [
    ("projects", "项目", "goals"),
    ("goals_approved", "目标批复", "goals"),
    ("approved_amount", "批复金额(元)", "goals"),
    ("ex_ante_required", "应事前评估", "goals"),
    ("ex_ante_missing", "未评估", "goals"),
    ("ex_ante_not_supported", "不予支持", "goals"),
    ("monitored", "监控", "monitoring"),
    ("deviated", "偏离", "monitoring"),
    ("red_warnings", "红灯", "monitoring"),
    ("self_evaluations", "自评", "evaluation"),
    ("self_evaluations_submitted", "已交", "evaluation"),
    ("self_evaluations_overdue", "逾期", "evaluation"),
    ("grade_excellent", "优", "evaluation"),
    ("grade_good", "良", "evaluation"),
    ("grade_fair", "中", "evaluation"),
    ("grade_poor", "差", "evaluation"),
    ("pool.agencies", "机构", "agency_pool"),
    ("pool.experts", "专家", "agency_pool"),
]
STATE_MARK = {"SOURCE_STATE_NOT_OPENED": "—", "SOURCE_STATE_UNAVAILABLE": "×"}


class _Deadline(grpc.UnaryUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Gives every call on the channel (the reflection streams too) what is left of one deadline."""

    def __init__(self, deadline):
        self.deadline = deadline

    def _details(self, details):
        remaining = max(self.deadline - time.monotonic(), 0.001)
        timeout = remaining if details.timeout is None else min(details.timeout, remaining)
        return details._replace(timeout=timeout) if hasattr(details, "_replace") else _Details(
            details.method, timeout, details.metadata, details.credentials,
            getattr(details, "wait_for_ready", None), getattr(details, "compression", None))

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._details(details), request)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._details(details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method, self.timeout, self.metadata = method, timeout, metadata
        self.credentials, self.wait_for_ready, self.compression = credentials, wait_for_ready, compression


_INTEGERS = (FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_UINT64,
             FieldDescriptor.TYPE_UINT32)


def _figures(msg):
    """A RegionFigures/PoolFigures message as a dict: int64 → int, pbm.common.v1.Decimal → Decimal.

    Driven by the descriptor, so fields a newer server adds come along."""
    out = {}
    for field in msg.DESCRIPTOR.fields:
        value = getattr(msg, field.name)
        if field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.full_name == "pbm.common.v1.Decimal":
            out[field.name] = decimal.Decimal(value.value or "0")
        elif field.type in _INTEGERS:
            out[field.name] = value
    return out


def parse_deployment(text):
    """`NAME=HOST:PORT` or `HOST:PORT` → (name or None, target)."""
    name, sep, target = text.rpartition("=")
    if ":" not in target or not target.rsplit(":", 1)[1].isdigit():
        raise ValueError(f"deployment {text!r}: expected [NAME=]HOST:PORT")
    return (name if sep else None), target


def read_tokens(path):
    """`HOST:PORT TOKEN` lines → {target: token}."""
    tokens = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(f"{path}:{number}: expected `HOST:PORT TOKEN`")
            tokens[parts[0]] = parts[1]
    return tokens


def read_region(deployment, year, group_by, timeout):
    """One deployment's answer as a dict; a failure is recorded in it, never raised."""
    start = time.monotonic()
    result = {
        "name": deployment.get("name"),
        "target": deployment["target"],
        "ok": False,
    }
    channel = grpc.intercept_channel(
        grpc.insecure_channel(deployment["target"], options=CHANNEL_OPTIONS),
        _Deadline(start + timeout),
    )
    try:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        try:
            method = pool.FindServiceByName(SERVICE).methods_by_name[METHOD]
        except (KeyError, grpc.RpcError) as e:
            if isinstance(e, grpc.RpcError) and e.code() != grpc.StatusCode.NOT_FOUND:
                raise
            # Reached, but the deployment does not offer the contract (an older release).
            result.update(code="UNIMPLEMENTED", detail=f"{SERVICE} not offered")
            return result
        request = message_factory.GetMessageClass(method.input_type)()
        request.fiscal_year = year
        request.group_by = method.input_type.fields_by_name["group_by"].enum_type.values_by_name[
            GROUP_BY[group_by]].number
        response_cls = message_factory.GetMessageClass(method.output_type)
        call = channel.unary_unary(
            f"/{SERVICE}/{METHOD}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_cls.FromString,
        )
        metadata = [("authorization", "Bearer " + deployment["token"])] if deployment.get("token") else None
        resp = call(request, metadata=metadata, timeout=timeout)
        state_enum = method.output_type.fields_by_name["sources"].message_type.fields_by_name["state"].enum_type
        result.update(
            ok=True,
            mof_div_code=resp.mof_div_code,
            fiscal_year=resp.fiscal_year,
            as_of=resp.as_of,
            totals=_figures(resp.totals),
            pool=_figures(resp.pool),
            rows=[{"key": r.key, "figures": _figures(r.figures)} for r in resp.rows],
            sources=[
                {"name": s.name, "state": state_enum.values_by_number[s.state].name
                 if s.state in state_enum.values_by_number else str(s.state), "detail": s.detail}
                for s in resp.sources
            ],
        )
    except grpc.RpcError as e:
        result.update(code=e.code().name, detail=e.details() or "")
    except Exception as e:  # noqa: BLE001 - a reflection failure surfaces wrapped by protobuf
        cause = e
        while cause is not None and not isinstance(cause, grpc.RpcError):
            cause = cause.__cause__ or cause.__context__
        if cause is not None:
            result.update(code=cause.code().name, detail=cause.details() or "")
        else:
            result.update(code="UNKNOWN", detail=f"{type(e).__name__}: {e}")
    finally:
        result["seconds"] = round(time.monotonic() - start, 3)
        channel.close()
    return result


def _source_states(region):
    return {s["name"]: s["state"] for s in region.get("sources", ())}


def aggregate(deployments, year, group_by=None, timeout=2.0):
    """Reads every deployment at once and sums the regions that answered.

    deployments: iterable of dicts {"target": "HOST:PORT", "token": str, "name": optional str}.
    Returns {"fiscal_year", "group_by", "seconds", "regions": [...] in the order given,
    "included": regions in the totals, "of": all regions, "totals": {field: int|Decimal},
    "pool": {...}, "read": {source: [regions that read it]}, "incomplete": {source: [regions
    that could not read it]}, "groups": {key:
    figures} (summed by key, fund_source/special_field only)}. A region's figures of a source it
    did not read (not opened, unavailable) are not added; an unavailable one makes the totals of
    that source incomplete, listed in "incomplete"."""
    deployments = list(deployments)
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(len(deployments), 1)) as pool:
        regions = list(pool.map(lambda d: read_region(d, year, group_by, timeout), deployments))
    totals, pool_totals, incomplete, groups, read = {}, {}, {}, {}, {}
    answered = [r for r in regions if r["ok"]]
    for region in answered:
        states = _source_states(region)
        readable = {name for name, state in states.items() if state == "SOURCE_STATE_READ"}
        for name, state in states.items():
            read.setdefault(name, [])
            if state == "SOURCE_STATE_READ":
                read[name].append(region["mof_div_code"])
            elif state == "SOURCE_STATE_UNAVAILABLE":
                incomplete.setdefault(name, []).append(region["mof_div_code"])
        for field, value in region["totals"].items():
            totals[field] = totals.get(field, 0) + value
        if "agency_pool" in readable or "agency_pool" not in states:
            for field, value in region["pool"].items():
                pool_totals[field] = pool_totals.get(field, 0) + value
        if group_by in ("fund_source", "special_field"):
            for row in region["rows"]:
                sums = groups.setdefault(row["key"], {})
                for field, value in row["figures"].items():
                    sums[field] = sums.get(field, 0) + value
    return {
        "fiscal_year": year,
        "group_by": group_by,
        "seconds": round(time.monotonic() - start, 3),
        "regions": regions,
        "included": len(answered),
        "of": len(regions),
        "totals": totals,
        "pool": pool_totals,
        "read": read,
        "incomplete": incomplete,
        "groups": groups,
    }


# --- the table ---------------------------------------------------------------------------------

def _width(text):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text, width, right=True):
    fill = " " * max(width - _width(text), 0)
    return fill + text if right else text + fill


def _cell(figures, pool, field):
    value = pool.get(field[5:], 0) if field.startswith("pool.") else figures.get(field, 0)
    if isinstance(value, int):
        return f"{value:,}"
    if value.as_tuple().exponent > -2:  # 元 to the fen; more places are shown as they are
        value = value.quantize(decimal.Decimal("0.01"))
    return f"{value:,f}"


def _total_cells(result, figures, pool):
    """The province's cells: `—` where no region read the source (not opened anywhere), `*` where
    some region could not read it; pool=None for a group (the pool is not grouped)."""
    cells = []
    for field, _, source in COLUMNS:
        if pool is None and field.startswith("pool."):
            cells.append("")
        elif source in result["read"] and not result["read"][source]:
            cells.append("—")
        else:
            cells.append(_cell(figures, pool or {}, field) + ("*" if source in result["incomplete"] else ""))
    return cells


def render(result):
    """The province table as text."""
    header = ["区划"] + [heading for _, heading, _ in COLUMNS]
    lines, notes = [], []
    for region in result["regions"]:
        label = region.get("mof_div_code") or region.get("name") or region["target"]
        if not region["ok"]:
            word = "unreachable" if region["code"] in UNREACHED else "refused"
            lines.append((label, f"{word}: {region['code']} {region['detail']}".strip()))
            continue
        states = _source_states(region)
        cells = []
        for field, _, source in COLUMNS:
            mark = STATE_MARK.get(states.get(source))
            cells.append(mark if mark else _cell(region["totals"], region["pool"], field))
        for name, state in states.items():
            if state in STATE_MARK:
                detail = next(s["detail"] for s in region["sources"] if s["name"] == name)
                notes.append(f"{label}: {name} {state.replace('SOURCE_STATE_', '')}"
                             + (f" — {detail}" if detail else ""))
        lines.append((label, cells))
        for row in region["rows"]:
            sub = []
            for field, _, source in COLUMNS:
                if field.startswith("pool."):
                    sub.append("")  # the pool is the region's, not grouped
                else:
                    sub.append(STATE_MARK.get(states.get(source)) or _cell(row["figures"], {}, field))
            lines.append(("  " + row["key"], sub))
    for source, codes in result["incomplete"].items():
        notes.append(f"* {source}: not in the totals for {', '.join(codes)} (unavailable there)")
    total_label = f"合计 ({result['included']} of {result['of']} regions)"
    lines.append((total_label, _total_cells(result, result["totals"], result["pool"])))
    for key, figures in sorted(result["groups"].items()):
        lines.append(("  " + key, _total_cells(result, figures, None)))

    widths = [max([_width(header[0])] + [_width(label) for label, _ in lines])]
    for i, heading in enumerate(header[1:]):
        widths.append(max([_width(heading)] + [_width(cells[i]) for _, cells in lines
                                                if isinstance(cells, list)]))
    out = [f"{result['fiscal_year']} 年度 全省绩效管理统计  ({result['seconds']:.2f} s)",
           "  ".join(_pad(h, w, right=i > 0) for i, (h, w) in enumerate(zip(header, widths)))]
    for label, cells in lines:
        if label.startswith("合计"):
            out.append("-" * _width(out[1]))
        if isinstance(cells, str):
            out.append(f"{_pad(label, widths[0], right=False)}  {cells}")
        else:
            out.append("  ".join([_pad(label, widths[0], right=False)]
                                 + [_pad(c, w) for c, w in zip(cells, widths[1:])]))
    out += [""] + notes if notes else []
    return "\n".join(out)


def _json_default(value):
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year", type=int, required=True, help="fiscal year (2000–2100)")
    parser.add_argument("--group-by", choices=[k for k in GROUP_BY if k])
    parser.add_argument("--timeout", type=float, default=2.0, help="each deployment's deadline, seconds")
    parser.add_argument("--tokens", help="file of `HOST:PORT TOKEN` lines")
    parser.add_argument("--token", default=os.environ.get("PBM_TOKEN"),
                        help="token for deployments not in --tokens (default: $PBM_TOKEN)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("deployments", nargs="+", metavar="DEPLOYMENT", help="[NAME=]HOST:PORT")
    args = parser.parse_args(argv)
    try:
        tokens = read_tokens(args.tokens) if args.tokens else {}
        parsed = [parse_deployment(d) for d in args.deployments]
    except (OSError, ValueError) as e:
        parser.error(str(e))
    deployments = [{"name": name, "target": target, "token": tokens.get(target, args.token)}
                   for name, target in parsed]
    result = aggregate(deployments, args.year, args.group_by, args.timeout)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=_json_default))
    else:
        print(render(result))
    complete = result["included"] == result["of"] and not result["incomplete"]
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
