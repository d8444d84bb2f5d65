#!/usr/bin/env python3
"""External gRPC client test for the `pbm` binary (not Rust: proves the wire contract).

Starts `pbm serve` on a free port with a temporary data dir, then talks to it with stock
grpcio: health checking, server reflection (v1alpha), and IndicatorService calls whose
request/response classes are built at run time from the reflected descriptors (no generated
stubs, no .proto files).

Needs: grpcio grpcio-reflection grpcio-health-checking grpcio-status protobuf
Env:   PBM_BIN              path to the binary (default: target/debug/pbm)
       PBM_SERVE_EXTRA_ARGS extra arguments for `pbm serve` (shell-split)
Prints `ok - <check>` / `FAIL - <check>: <detail>` lines and `N passed, M failed`;
exits 1 if any check failed.
"""

import datetime
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = "pbm.indicator.v1.IndicatorService"
# Every service `pbm serve` hosts.
HOSTED = (SERVICE, "pbm.agency.v1.AgencyRegistryService", "pbm.agency.v1.EngagementService", "pbm.agency.v1.DrawService", "pbm.goal.v1.GoalService", "pbm.audit.v1.AuditService", "pbm.monitoring.v1.RoundService", "pbm.monitoring.v1.ExecutionService", "pbm.monitoring.v1.ReportService", "pbm.monitoring.v1.DeviationService", "pbm.monitoring.v1.KeyMonitoringService", "pbm.evaluation.v1.CampaignService", "pbm.evaluation.v1.SelfEvaluationService", "pbm.evaluation.v1.SpotCheckService", "pbm.region.v1.RegionStatisticsService")
PKG = "pbm.indicator.v1"
STARTUP_TIMEOUT_S = 60
RPC_TIMEOUT_S = 30
# Never route 127.0.0.1 through an http_proxy from the environment.
CHANNEL_OPTIONS = [("grpc.enable_http_proxy", 0)]

PASSED = 0
FAILED = 0


def ok(name):
    global PASSED
    PASSED += 1
    print(f"ok - {name}", flush=True)


def fail(name, detail):
    global FAILED
    FAILED += 1
    detail = " ".join(str(detail).split())
    print(f"FAIL - {name}: {detail}", flush=True)


def check(name, fn):
    """Runs fn(); it passes unless it raises. Returns fn's result, or None on failure."""
    try:
        result = fn()
    except AssertionError as e:
        fail(name, str(e) or "assertion failed")
        return None
    except grpc.RpcError as e:
        fail(name, f"rpc error {e.code().name}: {e.details()}")
        return None
    except Exception as e:  # noqa: BLE001 - report anything as a failed check
        fail(name, f"{type(e).__name__}: {e}")
        if os.environ.get("PBM_EXTERNAL_DEBUG"):
            traceback.print_exc()
        return None
    ok(name)
    return result


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_tcp(port, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pbm serve exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def tail(path, lines=40):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def expect_code(name, fn, code):
    """Check that fn() raises an RpcError with `code`; returns the error for further checks."""
    box = {}

    def run():
        try:
            fn()
        except grpc.RpcError as e:
            box["err"] = e
            assert e.code() == code, f"expected {code.name}, got {e.code().name}: {e.details()}"
            return e
        raise AssertionError(f"expected {code.name}, call succeeded")

    check(name, run)
    return box.get("err")


def status_details(err):
    """google.rpc.Status decoded from the grpc-status-details-bin trailer."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(value)
            return st
    raise AssertionError("no grpc-status-details-bin trailer")


class Client:
    def __init__(self, channel):
        self.channel = channel
        self.db = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.db)
        self._service = None

    @property
    def service(self):
        if self._service is None:
            self._service = self.pool.FindServiceByName(SERVICE)
        return self._service

    def enum(self, enum_name, value_name):
        return self.pool.FindEnumTypeByName(f"{PKG}.{enum_name}").values_by_name[value_name].number

    def request(self, method):
        return message_factory.GetMessageClass(self.service.methods_by_name[method].input_type)()

    def call(self, method, request, token=None):
        m = self.service.methods_by_name[method]
        resp_cls = message_factory.GetMessageClass(m.output_type)
        stub = self.channel.unary_unary(
            f"/{SERVICE}/{method}",
            request_serializer=lambda msg: msg.SerializeToString(),
            response_deserializer=resp_cls.FromString,
        )
        metadata = [("authorization", "Bearer " + token)] if token else None
        return stub(request, metadata=metadata, timeout=RPC_TIMEOUT_S)


def run_checks(bin_path, port, data_dir, pid):
    def token(role):
        out = subprocess.run(
            [bin_path, "token", "--role", role, "--data-dir", data_dir],
            capture_output=True, text=True, timeout=60,
        )
        assert out.returncode == 0, f"exit {out.returncode}: {out.stderr.strip()[-500:]}"
        tok = out.stdout.strip()
        assert tok and "\n" not in tok, f"expected one line on stdout, got {out.stdout!r}"
        return tok

    admin = check("token --role finance_admin", lambda: token("finance_admin"))
    public = check("token --role public", lambda: token("public"))

    channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
    try:
        grpc.channel_ready_future(channel).result(timeout=STARTUP_TIMEOUT_S)
    except grpc.FutureTimeoutError:
        fail("channel ready", f"not ready after {STARTUP_TIMEOUT_S}s")
        return

    # --- health -------------------------------------------------------------------------------
    health = health_pb2_grpc.HealthStub(channel)
    for svc in ("", *HOSTED):
        def health_check(svc=svc):
            resp = health.Check(health_pb2.HealthCheckRequest(service=svc), timeout=RPC_TIMEOUT_S)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING, (
                f"status {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}")
        check(f"health {svc or '(server)'} SERVING", health_check)

    # --- reflection ---------------------------------------------------------------------------
    client = Client(channel)

    def list_services():
        names = list(client.db.get_services())
        for hosted in HOSTED:
            assert hosted in names, f"{hosted} not in {names}"
    check("reflection lists every hosted service", list_services)

    def resolve_descriptors():
        methods = set(client.service.methods_by_name)
        for m in ("GetFrame", "CreateIndicator", "GetIndicator", "SearchIndicators"):
            assert m in methods, f"method {m} missing from reflected service ({sorted(methods)})"
        return True
    if not check("reflection resolves service descriptors", resolve_descriptors):
        return  # nothing below can work without descriptors

    year = datetime.datetime.now(datetime.timezone.utc).year

    # --- GetFrame (seeded national default frame) ---------------------------------------------
    def get_frame():
        req = client.request("GetFrame")
        req.fiscal_year = year
        frame = client.call("GetFrame", req, admin).frame
        nodes = {n.code: n for n in frame.nodes}
        assert nodes, f"frame for {year} has no nodes"
        assert "101" in nodes and nodes["101"].name == "数量指标", (
            f"no node 101 数量指标 in {[(n.code, n.name) for n in frame.nodes]}")
        assert nodes["101"].parent_code == "1", f"101 parent_code={nodes['101'].parent_code!r}"
        assert "1" in nodes and nodes["1"].name == "产出指标", "no node 1 产出指标"
    check(f"GetFrame {year} has 产出指标/数量指标", get_frame)

    # --- CreateIndicator ----------------------------------------------------------------------
    def create_req(request_id, unit="人"):
        req = client.request("CreateIndicator")
        req.request_id = request_id
        req.code = "EXT001"
        s = req.spec
        s.fiscal_year = year
        s.frame_node_code = "101"
        s.name = "受益人口数量"
        s.kind = client.enum("IndicatorKind", "INDICATOR_KIND_COMMON")
        s.direction = client.enum("Direction", "DIRECTION_GE")
        s.unit = unit
        s.explanation = "项目覆盖的受益人口"
        s.reference_target = "1000"
        s.enabled_from_year = year
        return req

    request_id = str(uuid.uuid4())

    def create():
        ind = client.call("CreateIndicator", create_req(request_id), admin).indicator
        assert ind.code == "EXT001", f"code {ind.code!r}"
        assert ind.version == 1, f"version {ind.version}"
        assert ind.spec.name == "受益人口数量", f"name {ind.spec.name!r}"
        return ind
    created = check("CreateIndicator EXT001 -> version 1", create)

    def get_indicator():
        req = client.request("GetIndicator")
        req.code = "EXT001"
        ind = client.call("GetIndicator", req, admin).indicator
        assert ind.code == "EXT001" and ind.spec.name == "受益人口数量", (
            f"got code={ind.code!r} name={ind.spec.name!r}")
        assert ind.spec.unit == "人", f"unit {ind.spec.unit!r}"
    check("GetIndicator EXT001", get_indicator)

    def search():
        req = client.request("SearchIndicators")
        req.query = "受益人口"
        hits = client.call("SearchIndicators", req, admin).hits
        assert hits, "no hits"
        assert hits[0].indicator.code == "EXT001", f"first hit {hits[0].indicator.code!r}"
    check("SearchIndicators 受益人口 -> EXT001 first", search)

    def replay():
        ind = client.call("CreateIndicator", create_req(request_id), admin).indicator
        assert ind.code == "EXT001" and ind.version == 1, f"code={ind.code!r} version={ind.version}"
        if created is not None:
            assert ind.spec == created.spec, "replayed spec differs from the first response"
    check("CreateIndicator same request_id is idempotent", replay)

    expect_code(
        "CreateIndicator new request_id, same code -> ALREADY_EXISTS",
        lambda: client.call("CreateIndicator", create_req(str(uuid.uuid4())), admin),
        grpc.StatusCode.ALREADY_EXISTS,
    )

    # --- auth ---------------------------------------------------------------------------------
    def get_req():
        req = client.request("GetIndicator")
        req.code = "EXT001"
        return req

    expect_code("GetIndicator as public -> PERMISSION_DENIED",
                lambda: client.call("GetIndicator", get_req(), public),
                grpc.StatusCode.PERMISSION_DENIED)
    expect_code("GetIndicator without token -> UNAUTHENTICATED",
                lambda: client.call("GetIndicator", get_req(), None),
                grpc.StatusCode.UNAUTHENTICATED)

    # --- a request that is not valid protobuf: INVALID_ARGUMENT, no decoder internals ---------
    def raw_call(payload):
        stub = client.channel.unary_unary(
            f"/{SERVICE}/GetIndicator",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        return stub(payload, metadata=[("authorization", "Bearer " + admin)],
                    timeout=RPC_TIMEOUT_S)

    # Field 1 (code, a string) holding bytes that are not UTF-8.
    malformed = expect_code("GetIndicator with invalid UTF-8 -> INVALID_ARGUMENT",
                            lambda: raw_call(b"\x0a\x02\xff\xfe"),
                            grpc.StatusCode.INVALID_ARGUMENT)

    def malformed_details():
        assert malformed is not None, "no error to inspect"
        assert "Protobuf" not in malformed.details(), malformed.details()
        assert malformed.details().endswith("(MALFORMED_REQUEST)"), malformed.details()
        st = status_details(malformed)
        infos = [d for d in st.details if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR)]
        assert infos, "no ErrorInfo"
        info = error_details_pb2.ErrorInfo()
        infos[0].Unpack(info)
        assert (info.reason, info.domain) == ("MALFORMED_REQUEST", "pbm.indicator"), info

    check("malformed request names MALFORMED_REQUEST in pbm.indicator", malformed_details)

    # --- a gzip-compressed request: a decompression bomb (50 MiB of text in about 50 KiB) is
    # refused, and the server does not grow ---------------------------------------------------
    def rss_mib():
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
        raise AssertionError("no VmRSS")

    def varint(n):
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
        return bytes(out)

    def gzip_bomb():
        before = rss_mib()
        text = 50 << 20
        payload = b"\x0a" + varint(text) + b"a" * text  # field 1 (code): 50 MiB
        try:
            client.channel.unary_unary(
                f"/{SERVICE}/GetIndicator",
                request_serializer=lambda b: b,
                response_deserializer=lambda b: b,
            )(payload, metadata=[("authorization", "Bearer " + admin)],
              timeout=RPC_TIMEOUT_S, compression=grpc.Compression.Gzip)
        except grpc.RpcError as e:
            assert e.code() in (grpc.StatusCode.UNIMPLEMENTED,
                                grpc.StatusCode.RESOURCE_EXHAUSTED), e.code()
        else:
            raise AssertionError("a gzip-compressed request was answered")
        grown = rss_mib() - before
        assert grown < 64, f"the server grew by {grown} MiB"

    check("gzip-compressed request (decompression bomb) refused, server does not grow", gzip_bomb)

    # --- validation error with rich details ---------------------------------------------------
    bad_req = create_req(str(uuid.uuid4()), unit="")
    bad_req.code = "EXT002"
    err = expect_code("CreateIndicator GE without unit -> INVALID_ARGUMENT",
                      lambda: client.call("CreateIndicator", bad_req, admin),
                      grpc.StatusCode.INVALID_ARGUMENT)

    def details():
        assert err is not None, "no INVALID_ARGUMENT error to inspect"
        st = status_details(err)
        assert st.code == grpc.StatusCode.INVALID_ARGUMENT.value[0], f"status code {st.code}"
        fields, reasons = [], []
        for any_msg in st.details:
            if any_msg.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                br = error_details_pb2.BadRequest()
                any_msg.Unpack(br)
                fields += [v.field for v in br.field_violations]
            elif any_msg.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                any_msg.Unpack(info)
                reasons.append(info.reason)
        types = [a.type_url for a in st.details]
        assert "spec.unit" in fields, f"no BadRequest field violation spec.unit (fields={fields}, details={types})"
        assert any(reasons), f"no ErrorInfo with a reason (details={types})"
    check("INVALID_ARGUMENT details: BadRequest spec.unit + ErrorInfo", details)

    channel.close()


def main():
    bin_path = os.environ.get("PBM_BIN") or os.path.join(REPO_ROOT, "target", "debug", "pbm")
    extra = shlex.split(os.environ.get("PBM_SERVE_EXTRA_ARGS", ""))
    work = tempfile.mkdtemp(prefix="pbm-external.")
    data_dir = os.path.join(work, "data")
    os.makedirs(data_dir)
    log_path = os.path.join(work, "serve.log")
    proc = None

    # Turn SIGTERM/SIGINT into an exception so the finally block always stops the server.
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)

    try:
        if not (os.path.isfile(bin_path) and os.access(bin_path, os.X_OK)):
            fail("pbm binary", f"{bin_path} not found or not executable (set PBM_BIN)")
            return
        port = free_port()
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(
                [bin_path, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir, *extra],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        try:
            wait_for_tcp(port, proc, STARTUP_TIMEOUT_S)
        except RuntimeError as e:
            fail("pbm serve starts", e)
            return
        ok(f"pbm serve listening on 127.0.0.1:{port}")
        run_checks(bin_path, port, data_dir, proc.pid)
        if proc.poll() is not None:
            fail("pbm serve still running after checks", f"exited with {proc.returncode}")
        else:
            def graceful():
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=15)
                assert code == 0, f"exit code {code}"
            check("pbm serve drains and exits 0 on SIGTERM", graceful)
    finally:
        stop(proc)
        if FAILED and os.path.exists(log_path):
            print(f"--- last lines of pbm serve output ({log_path}) ---")
            print(tail(log_path).rstrip("\n"))
            print("---")
        print(f"{PASSED} passed, {FAILED} failed", flush=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
    sys.exit(1 if FAILED else 0)
