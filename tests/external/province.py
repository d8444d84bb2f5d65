#!/usr/bin/env python3
"""The provincial aggregator (docs/examples/province_statistics.py) against real deployments.

Part 1: three `pbm serve` processes on free loopback ports, each with its own data dir (embedded
SQLite) and region (140525, 140581, 140521), and a fourth address nothing listens on. Each
deployment trusts its own development key, so each gets its own province token (`pbm token
--role province --mof-div-code 140000 --data-dir <its data dir>`); 140525 gets two projects
declared by its finance (GoalService.DeclareProject). `aggregate` for 2026 must
give the three regions' rows, the fourth as unreachable and out of the totals, totals equal to
the sum of the regions, well within the deadline; a budget unit's token is refused
(PERMISSION_DENIED) and shown as such.

Part 2, the number (docs/BENCHMARKS.md "Provincial aggregation (session 13)"): twenty `pbm serve`
processes (regions 140501…140520); once all serve (not timed), `aggregate` over the twenty is
timed three times; each run must take ≤ 2 s. Prints
`province aggregation over 20 deployments: X.XX s` (the best) and the worst, and, before and
after, the baseline of the same run: a grpc.health.v1 Check of each of the twenty at once.

Every process is stopped with SIGTERM at the end, also on failure.

Needs: grpcio grpcio-reflection protobuf (the venv of tests/external/run.py)
Env:   PBM_BIN              path to the binary (default: target/debug/pbm)
       PBM_SERVE_EXTRA_ARGS extra arguments for `pbm serve` (shell-split)
       PBM_PROVINCE_N       deployments of part 2 (default 20)
Prints `ok - <check>` / `FAIL - <check>: <detail>` lines and `N passed, M failed`;
exits 1 if any check failed.
"""

import decimal
import importlib.util
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from run import check, fail, free_port, ok, stop, tail, wait_for_tcp  # tests/external/run.py
import run as counters

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTUP_TIMEOUT_S = 180  # twenty debug binaries starting at once on two cores
YEAR = 2026
REGIONS = ("140525", "140581", "140521")
TARGET_S = 2.0
SERVICE = "pbm.region.v1.RegionStatisticsService"

spec = importlib.util.spec_from_file_location(
    "province_statistics", os.path.join(REPO_ROOT, "docs", "examples", "province_statistics.py"))
province = importlib.util.module_from_spec(spec)
spec.loader.exec_module(province)


class Deployment:
    """One `pbm serve` with its own data dir and region."""

    def __init__(self, bin_path, work, region, extra):
        self.bin_path, self.region = bin_path, region
        self.dir = os.path.join(work, region)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.dir, "serve.log")
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("PBM_DATABASE_URL", "PBM_REDIS_URL", "PBM_PRODUCTION")}
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [bin_path, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir",
                 self.data_dir, "--mof-div-code", region, *extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            )

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def token(self, role, *args, region=None):
        """A token of `role` signed with this deployment's key, of its region unless told."""
        out = subprocess.run(
            [self.bin_path, "token", "--role", role, "--data-dir", self.data_dir,
             "--mof-div-code", region or self.region, *args],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr.strip()[-500:]}"
        return out.stdout.strip()

    def province_token(self):
        return self.token("province", region="140000")


def start_all(bin_path, work, regions, extra):
    """Starts one deployment a region (all at once) and waits until each listens."""
    deployments, ports = [], set()
    for region in regions:
        d = Deployment(bin_path, work, region, extra)
        while d.port in ports:  # two free_port calls handed out the same port: pick again
            stop(d.proc)
            shutil.rmtree(d.dir)
            d = Deployment(bin_path, work, region, extra)
        ports.add(d.port)
        deployments.append(d)
    for d in deployments:
        wait_for_tcp(d.port, d.proc, STARTUP_TIMEOUT_S)
    return deployments


def stop_all(deployments):
    """SIGTERM to every process at once, then waits for each (SIGKILL after 15 s)."""
    for d in deployments:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGTERM)
    codes = {}
    for d in deployments:
        try:
            codes[d.region] = d.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop(d.proc)
            codes[d.region] = "killed"
    return codes


SEEDED_AMOUNT = decimal.Decimal("1234568.00")


def seed(deployment):
    """Two projects of 2026 declared by finance through GoalService (reflected, as the aggregator)."""
    admin = deployment.token("finance_admin")
    channel = grpc.insecure_channel(deployment.target, options=[("grpc.enable_http_proxy", 0)])
    try:
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
        method = pool.FindServiceByName("pbm.goal.v1.GoalService").methods_by_name["DeclareProject"]
        call = channel.unary_unary(
            "/pbm.goal.v1.GoalService/DeclareProject",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=message_factory.GetMessageClass(method.output_type).FromString,
        )
        for code, fund, amount in (("P-EXT-1", "FUND_SOURCE_GENERAL_PUBLIC", "1234567.89"),
                                   ("P-EXT-2", "FUND_SOURCE_GOVERNMENT_FUND", "0.11")):
            req = json_format.ParseDict({
                "requestId": str(uuid.uuid4()),
                "spec": {"proCode": code, "name": "农村饮水安全工程", "agencyCode": "101001",
                         "departmentCode": "101", "fiscalYear": YEAR, "fundSource": fund,
                         "specialField": "SPECIAL_FIELD_NONE", "continuity": "CONTINUITY_NEW",
                         "nature": "NATURE_PROJECT", "requestedAmount": {"value": amount}},
            }, message_factory.GetMessageClass(method.input_type)())
            call(req, metadata=[("authorization", "Bearer " + admin)], timeout=30)
    finally:
        channel.close()


def sum_figures(regions, key):
    total = {}
    for r in regions:
        for field, value in r[key].items():
            total[field] = total.get(field, 0) + value
    return total


def part_one(bin_path, work, extra, started):
    deployments = check("3 deployments (140525, 140581, 140521) serving",
                        lambda: start_all(bin_path, work, REGIONS, extra))
    if not deployments:
        return
    started += deployments
    tokens = check("a province token (140000) from each deployment's key",
                   lambda: [d.province_token() for d in deployments])
    if not tokens:
        return
    check("140525 seeded: two projects declared by finance (1,234,567.89 + 0.11 元)",
          lambda: seed(deployments[0]))
    # Bound but never listening: connecting is refused, and no other process can take the port.
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.bind(("127.0.0.1", 0))
    dead_target = f"127.0.0.1:{dead.getsockname()[1]}"
    targets = [{"target": d.target, "token": t} for d, t in zip(deployments, tokens)]
    targets.append({"name": "140522", "target": dead_target, "token": tokens[0]})
    timeout = 5.0
    try:
        result = check(f"aggregate {YEAR} over 3 deployments and an unreachable one",
                       lambda: province.aggregate(targets, YEAR, None, timeout))
    finally:
        dead.close()
    if not result:
        return
    print(province.render(result), flush=True)
    regions = result["regions"]

    def rows():
        got = [(r.get("mof_div_code"), r["ok"]) for r in regions[:3]]
        assert got == [(code, True) for code in REGIONS], (
            f"rows {got}; failures {[(r.get('code'), r.get('detail')) for r in regions if not r['ok']]}")
        assert all(r["fiscal_year"] == YEAR for r in regions[:3]), [r["fiscal_year"] for r in regions[:3]]
    check("3 region rows with their codes", rows)

    def sources():
        for r in regions[:3]:
            states = {s["name"]: s["state"] for s in r["sources"]}
            assert states, f"{r['mof_div_code']}: no sources"
            for name, state in states.items():
                assert state in ("SOURCE_STATE_READ", "SOURCE_STATE_NOT_OPENED"), (
                    f"{r['mof_div_code']}: {name} {state}")
    check("every source READ or NOT_OPENED", sources)

    def unreachable():
        r = regions[3]
        assert not r["ok"] and r["code"] == "UNAVAILABLE", r
        assert (result["included"], result["of"]) == (3, 4), (result["included"], result["of"])
        text = province.render(result)
        assert "合计 (3 of 4 regions)" in text, text
        assert "140522" in text and "unreachable: UNAVAILABLE" in text, text
    check("the unreachable deployment is shown as such and left out of the totals", unreachable)

    def totals():
        answered = regions[:3]
        assert result["totals"] == sum_figures(answered, "totals"), result["totals"]
        assert result["pool"] == sum_figures(answered, "pool"), result["pool"]
        assert isinstance(result["totals"]["approved_amount"], decimal.Decimal)
        seeded = regions[0]["totals"]
        assert (seeded["projects"], seeded["projects_amount"]) == (2, SEEDED_AMOUNT), seeded
        assert (result["totals"]["projects"], result["totals"]["projects_amount"]) == (2, SEEDED_AMOUNT), (
            result["totals"])
    check("the totals are the sums of the regions' figures (decimals exact)", totals)

    def fast():
        assert result["seconds"] < timeout / 2, f"{result['seconds']} s (deadline {timeout} s)"
    check(f"aggregate answered well within the deadline ({result['seconds']:.2f} s)", fast)

    def grouped():
        for group_by in ("department", "fund_source", "special_field"):
            r = province.aggregate(targets[:3], YEAR, group_by, timeout)
            assert r["included"] == 3, (group_by, [(x.get("code"), x.get("detail")) for x in r["regions"]])
            province.render(r)
            if group_by == "fund_source":
                got = {k: (g["projects"], g["projects_amount"]) for k, g in r["groups"].items()}
                assert got == {"FUND_SOURCE_GENERAL_PUBLIC": (1, decimal.Decimal("1234567.89")),
                               "FUND_SOURCE_GOVERNMENT_FUND": (1, decimal.Decimal("0.11"))}, got
    check("group_by department / fund_source / special_field answer", grouped)

    def denied():
        unit = deployments[0].token("budget_unit", "--unit", "101001")
        r = province.aggregate([{"target": deployments[0].target, "token": unit}], YEAR, None, timeout)
        region = r["regions"][0]
        assert not region["ok"] and region["code"] == "PERMISSION_DENIED", region
        assert r["included"] == 0 and r["totals"] == {}, r
        assert "refused: PERMISSION_DENIED" in province.render(r), province.render(r)
    check("a budget unit's token is refused (PERMISSION_DENIED) and shown as refused", denied)

    def cli():
        tokens_file = os.path.join(work, "tokens.txt")
        with open(tokens_file, "w", encoding="utf-8") as f:
            f.writelines(f"{t['target']} {t['token']}\n" for t in targets[:3])
        out = subprocess.run(
            [sys.executable, os.path.join(REPO_ROOT, "docs", "examples", "province_statistics.py"),
             "--year", str(YEAR), "--tokens", tokens_file, *[t["target"] for t in targets[:3]]],
            capture_output=True, text=True, timeout=60,
        )
        assert "合计 (3 of 3 regions)" in out.stdout, out.stdout + out.stderr
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr}"
    check("the command line prints the table (exit 0)", cli)

    codes = stop_all(deployments)
    check("the 3 deployments exit 0 on SIGTERM", lambda: expect(all(c == 0 for c in codes.values()), codes))


def part_two(bin_path, work, extra, started, n):
    regions = [f"1405{i:02d}" for i in range(1, n + 1)]
    t0 = time.monotonic()
    deployments = check(f"{n} deployments (140501…{regions[-1]}) serving",
                        lambda: start_all(bin_path, os.path.join(work, "twenty"), regions, extra))
    if not deployments:
        return
    started += deployments
    print(f"# {n} deployments listening after {time.monotonic() - t0:.1f} s (not timed)", flush=True)
    targets = check(f"a province token from each of the {n}",
                    lambda: [{"target": d.target, "token": d.province_token()} for d in deployments])
    if not targets:
        return
    # All serving the contract (not timed): a first read with a generous deadline.
    warm = check("every deployment answers (untimed first read)",
                 lambda: _all_answer(province.aggregate(targets, YEAR, None, 30.0), n))
    if warm is None:
        return
    baseline_before = check(f"baseline: a health check of each of the {n}, concurrently, 3 runs",
                            lambda: _health_fan_out([d.target for d in deployments]))
    times = []

    def timed():
        for _ in range(3):
            r = province.aggregate(targets, YEAR, None, TARGET_S)
            _all_answer(r, n)
            times.append(r["seconds"])
    check(f"aggregate over {n} deployments, 3 runs", timed)
    if len(times) == 3:
        best, worst = min(times), max(times)
        print(f"province aggregation over {n} deployments: {best:.2f} s"
              f" (best of 3; worst {worst:.2f} s; runs {', '.join(f'{t:.3f}' for t in times)})", flush=True)
        check(f"every run ≤ {TARGET_S:.0f} s (worst {worst:.2f} s)", lambda: expect(worst <= TARGET_S, times))
    baseline_after = check(f"baseline again after the aggregation, 3 runs",
                           lambda: _health_fan_out([d.target for d in deployments]))
    for when, b in (("before", baseline_before), ("after", baseline_after)):
        if b:
            print(f"baseline ({when}): grpc.health.v1 Check of each of {n} deployments, concurrently:"
                  f" {min(b):.2f} s (best of 3; worst {max(b):.2f} s)", flush=True)
    codes = stop_all(deployments)
    check(f"the {n} deployments exit 0 on SIGTERM", lambda: expect(all(c == 0 for c in codes.values()), codes))


def _health_fan_out(targets):
    """The baseline of the aggregation in the same run: each deployment asked the cheapest call
    there is (grpc.health.v1 Check, no token, no database) at once, each on a new channel as
    `aggregate` connects; the wall time of each of 3 runs."""
    from concurrent.futures import ThreadPoolExecutor
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    def one(target):
        with grpc.insecure_channel(target) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=TARGET_S)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING, reply

    runs = []
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        for _ in range(3):
            t = time.monotonic()
            list(pool.map(one, targets))
            runs.append(time.monotonic() - t)
    return runs


def expect(condition, detail):
    assert condition, detail


def _all_answer(result, n):
    bad = [(r["target"], r.get("code"), r.get("detail")) for r in result["regions"] if not r["ok"]]
    assert not bad and result["included"] == n, bad
    return result


def main():
    bin_path = os.environ.get("PBM_BIN") or os.path.join(REPO_ROOT, "target", "debug", "pbm")
    extra = shlex.split(os.environ.get("PBM_SERVE_EXTRA_ARGS", ""))
    n = int(os.environ.get("PBM_PROVINCE_N", "20"))
    work = tempfile.mkdtemp(prefix="pbm-province.")
    started = []

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        if not (os.path.isfile(bin_path) and os.access(bin_path, os.X_OK)):
            fail("pbm binary", f"{bin_path} not found or not executable (set PBM_BIN)")
            return
        part_one(bin_path, work, extra, started)
        if not counters.FAILED:
            part_two(bin_path, work, extra, started, n)
    finally:
        stop_all(started)
        if counters.FAILED:
            for d in started:
                print(f"--- last lines of {d.region}'s pbm serve output ({d.log_path}) ---")
                print(tail(d.log_path, 15).rstrip("\n"))
            print("---")
        print(f"{counters.PASSED} passed, {counters.FAILED} failed", flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(1 if counters.FAILED else 0)
