#!/usr/bin/env python3
"""The indicator library down the levels (docs/INDICATOR.md "Following an upstream library")
with three real `pbm serve` processes on loopback, each with its own data dir (embedded SQLite),
region and development key:

  province 140000  ←  city 140500 (PBM_UPSTREAM_LIBRARY_URL = the province)
                   ←  county 140525 (PBM_UPSTREAM_LIBRARY_URL = the city)

Each follower's token (PBM_UPSTREAM_TOKEN_FILE) is finance_admin of its own region, minted with
its upstream's key (`pbm token --data-dir <upstream's data dir>`).

Checks: indicators created at the province appear at the county with origin 140000 and
upstream_owned; a county extension stays local and an edit of a province indicator at the county
is refused (FAILED_PRECONDITION UPSTREAM_OWNED); while 2,000 indicators are created at the
province the province is killed (SIGKILL) and restarted mid-stream, then the city likewise; the
county ends with exactly the province's set — every province indicator at the county with the
province's version as its origin version and as many local versions as the province has (no gap,
no duplicate) — plus its own extension, and GetMirrorStatus at the county shows the link.

Needs: grpcio grpcio-reflection protobuf (the venv of tests/external/run.py)
Env:   PBM_BIN      path to the binary (default: target/debug/pbm)
       PBM_MIRROR_N indicators of the big batch (default 2000)
Prints `ok - <check>` / `FAIL - <check>: <detail>` lines and `N passed, M failed`; exits 1 if
any check failed. Every process is stopped at the end, also on failure.
"""

import concurrent.futures
import os
import shutil
import signal
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

from run import check, fail, free_port, stop, tail, wait_for_tcp  # tests/external/run.py
import run as counters

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STARTUP_TIMEOUT_S = 120
SYNC_TIMEOUT_S = 240
YEAR = 2026
IND = "pbm.indicator.v1.IndicatorService"
MIRROR = "pbm.indicator.v1.LibraryMirrorService"


class Deployment:
    """One `pbm serve` with its own data dir, region and port; restartable on the same port."""

    def __init__(self, bin_path, work, region, upstream=None):
        self.bin_path, self.region, self.upstream = bin_path, region, upstream
        self.dir = os.path.join(work, region)
        self.data_dir = os.path.join(self.dir, "data")
        os.makedirs(self.data_dir)
        self.log_path = os.path.join(self.dir, "serve.log")
        self.port = free_port()
        self.proc = None
        self.channel = None
        self._pool = None
        self.token_file = None
        if upstream is not None:
            # finance_admin of this region, signed with the upstream's key.
            self.token_file = os.path.join(self.dir, "upstream.token")
            with open(self.token_file, "w") as f:
                f.write(upstream.token("finance_admin", region=region))

    def start(self):
        env = {k: v for k, v in os.environ.items()
               if k not in ("PBM_DATABASE_URL", "PBM_REDIS_URL", "PBM_PRODUCTION",
                            "PBM_UPSTREAM_LIBRARY_URL", "PBM_UPSTREAM_TOKEN_FILE")}
        env["PBM_SEED_FISCAL_YEAR"] = str(YEAR)
        if self.upstream is not None:
            env["PBM_UPSTREAM_LIBRARY_URL"] = f"http://{self.upstream.target}"
            env["PBM_UPSTREAM_TOKEN_FILE"] = self.token_file
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.bin_path, "serve", "--listen", self.target, "--data-dir", self.data_dir,
             "--mof-div-code", self.region],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
        log.close()
        wait_for_tcp(self.port, self.proc, STARTUP_TIMEOUT_S)
        if self.channel is None:
            self.channel = grpc.insecure_channel(self.target, options=[("grpc.enable_http_proxy", 0)])

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def token(self, role, region=None):
        out = subprocess.run(
            [self.bin_path, "token", "--role", role, "--data-dir", self.data_dir,
             "--mof-div-code", region or self.region, "--subject", f"{role}-{region or self.region}"],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr.strip()[-500:]}"
        return out.stdout.strip()

    def pool(self):
        if self._pool is None:
            self._pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(self.channel))
        return self._pool

    def call(self, service, method, body, token, timeout=30):
        m = self.pool().FindServiceByName(service).methods_by_name[method]
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda x: x.SerializeToString(),
            response_deserializer=message_factory.GetMessageClass(m.output_type).FromString,
        )
        req = json_format.ParseDict(body, message_factory.GetMessageClass(m.input_type)())
        resp = stub(req, metadata=[("authorization", "Bearer " + token)], timeout=timeout)
        return json_format.MessageToDict(resp, preserving_proto_field_name=True)


def spec(name):
    return {"fiscal_year": YEAR, "frame_node_code": "101", "name": name,
            "kind": "INDICATOR_KIND_COMMON", "direction": "DIRECTION_GE", "unit": "人",
            "explanation": f"{name}的说明", "reference_target": "100"}


def create(d, token, code, name, request_id=None):
    return d.call(IND, "CreateIndicator", {"request_id": request_id or str(uuid.uuid4()),
                                           "code": code, "spec": spec(name)}, token)


def all_indicators(d, token):
    """code → (version, origin_region, origin_version) of every current indicator."""
    out, page_token = {}, ""
    while True:
        r = d.call(IND, "ListIndicators", {"page": {"page_size": 500, "page_token": page_token}},
                   token, timeout=60)
        for i in r.get("indicators", []):
            out[i["code"]] = (int(i.get("version", 0)), i.get("origin_region", ""),
                              int(i.get("origin_version", 0)))
        page_token = r.get("page", {}).get("next_page_token", "")
        if not page_token:
            return out


def wait_until(what, fn, timeout=SYNC_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            ok, last = fn()
            if ok:
                return last
        except grpc.RpcError as e:
            last = f"{e.code()}: {e.details()}"
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout}s; last: {last}")


def create_many(province, token, codes, kill_at=None, on_kill=None):
    """Creates `codes` at the province from 4 threads; each create is retried with its own
    request_id until it succeeds (a replay after a restart answers the first result). When
    `kill_at` creates are done, `on_kill` runs (kills and restarts a process) while the others
    keep trying."""
    ids = {c: str(uuid.uuid4()) for c in codes}
    done = [0]

    def one(code):
        deadline = time.monotonic() + SYNC_TIMEOUT_S
        while True:
            try:
                create(province, token, code, f"批量指标{code}", ids[code])
                done[0] += 1
                return
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.ALREADY_EXISTS:
                    done[0] += 1
                    return
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        futures = [ex.submit(one, c) for c in codes]
        if kill_at is not None:
            while done[0] < kill_at:
                time.sleep(0.05)
            on_kill()
        for f in futures:
            f.result()


def run_all(bin_path, work, n, started):
    province = Deployment(bin_path, work, "140000")
    started.append(province)
    check("the province (140000) serving", province.start)
    city = Deployment(bin_path, work, "140500", upstream=province)
    started.append(city)
    check("the city (140500) serving, following the province", city.start)
    county = Deployment(bin_path, work, "140525", upstream=city)
    started.append(county)
    check("the county (140525) serving, following the city", county.start)
    if counters.FAILED:
        return
    p_fin = province.token("finance_admin")
    k_fin = county.token("finance_admin")

    def first_three():
        for i in range(1, 4):
            create(province, p_fin, f"SX-{i:03d}", f"省级共性指标{i}")
    check("3 indicators created at the province", first_three)

    def at_county():
        def seen():
            got = all_indicators(county, k_fin)
            three = {c: got.get(c) for c in ("SX-001", "SX-002", "SX-003")}
            return all(v is not None for v in three.values()), three
        three = wait_until("the 3 at the county", seen, timeout=60)
        for code, (version, origin, origin_version) in three.items():
            assert (version, origin, origin_version) == (1, "140000", 1), (code, three[code])
        i = county.call(IND, "GetIndicator", {"code": "SX-001"}, k_fin)["indicator"]
        assert i.get("upstream_owned") is True and i["mof_div_code"] == "140525", i
    check("they appear at the county two levels down, origin 140000, upstream-owned", at_county)

    check("a county extension (KX-001) is created locally",
          lambda: create(county, k_fin, "KX-001", "县级扩展指标"))

    def refused():
        try:
            county.call(IND, "UpdateIndicator", {"request_id": str(uuid.uuid4()), "code": "SX-001",
                                                 "expected_version": 1,
                                                 "spec": spec("县级改名")}, k_fin)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
            assert "140000" in e.details(), e.details()
            return
        raise AssertionError("the county changed the province's indicator")
    check("the county may not change the province's indicator (FAILED_PRECONDITION UPSTREAM_OWNED)",
          refused)

    def update_one():
        province.call(IND, "UpdateIndicator", {"request_id": str(uuid.uuid4()), "code": "SX-002",
                                               "expected_version": 1,
                                               "spec": spec("省级共性指标2（修订）")}, p_fin)
    check("an update at the province", update_one)

    codes = [f"BX-{i:05d}" for i in range(n)]

    def restart_province():
        province.kill()
        time.sleep(0.5)
        province.start()

    check(f"{n} indicators created at the province, the province SIGKILLed and restarted after {n // 3}",
          lambda: create_many(province, p_fin, codes[: n // 2], kill_at=n // 3,
                              on_kill=restart_province))

    def restart_city():
        city.kill()
        time.sleep(0.5)
        city.start()

    check("the city SIGKILLed and restarted while the rest flow",
          lambda: create_many(province, p_fin, codes[n // 2:], kill_at=n // 8,
                              on_kill=restart_city))
    if counters.FAILED:
        return

    def same_set():
        want = all_indicators(province, p_fin)

        def converged():
            got = all_indicators(county, k_fin)
            upstream = {c: v for c, v in got.items() if v[1] == "140000"}
            return len(upstream) == len(want), f"{len(upstream)} of {len(want)}"
        wait_until("the county caught up", converged)
        got = all_indicators(county, k_fin)
        upstream = {c: v for c, v in got.items() if v[1] == "140000"}
        assert set(upstream) == set(want), (sorted(set(want) - set(upstream))[:5],
                                            sorted(set(upstream) - set(want))[:5])
        bad = [(c, want[c], upstream[c]) for c in want
               if upstream[c][0] != want[c][0] or upstream[c][2] != want[c][0]]
        assert not bad, f"{len(bad)} differ (gap or duplicate), e.g. {bad[:5]}"
        assert got.get("KX-001", (0, ""))[1] == "140525", got.get("KX-001")
        assert len(got) == len(want) + 1, (len(got), len(want))
        print(f"# county holds {len(upstream)} province indicators (= the province's set) "
              f"and its 1 extension", flush=True)
    check("the county ends with exactly the province's set, same versions (no gap, no duplicate), "
          "and its extension", same_set)

    def status():
        s = county.call(MIRROR, "GetMirrorStatus", {}, k_fin)
        assert s.get("following") and s.get("upstream_url") == f"http://{city.target}", s
        assert s.get("cursor", "").startswith("r"), s
        assert int(s.get("resyncs", 0)) >= 1, s
    check("GetMirrorStatus at the county: following the city, a cursor, the first resync", status)


def main():
    bin_path = os.environ.get("PBM_BIN") or os.path.join(REPO_ROOT, "target", "debug", "pbm")
    n = int(os.environ.get("PBM_MIRROR_N", "2000"))
    work = tempfile.mkdtemp(prefix="pbm-mirror.")
    started = []

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if not (os.path.isfile(bin_path) and os.access(bin_path, os.X_OK)):
            fail("pbm binary", f"{bin_path} not found or not executable (set PBM_BIN)")
            return
        run_all(bin_path, work, n, started)
    finally:
        for d in started:
            if d.proc is not None and d.proc.poll() is None:
                d.proc.send_signal(signal.SIGTERM)
        for d in started:
            if d.proc is not None:
                try:
                    d.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    stop(d.proc)
        if counters.FAILED:
            for d in started:
                print(f"--- last lines of {d.region}'s pbm serve output ({d.log_path}) ---")
                print(tail(d.log_path, 20).rstrip("\n"))
            print("---")
        print(f"{counters.PASSED} passed, {counters.FAILED} failed", flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(1 if counters.FAILED else 0)
