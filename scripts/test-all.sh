#!/usr/bin/env bash
# The full PBM test command (README "Testing"; CI runs it through .ci/run).
#
#   scripts/test-all.sh                          provision, proto contract and deployment checks,
#                                                cargo test, external Python gRPC tests
#   scripts/test-all.sh --only-provision -- CMD  provision, export env, run CMD instead
#
# Provisions a throwaway PostgreSQL cluster and Redis server on free 127.0.0.1 ports, exports
#   PBM_TEST_DATABASE_URL  postgres://pbm@127.0.0.1:<port>/pbm_test
#   PBM_TEST_REDIS_URL     redis://127.0.0.1:<port>/
#   PBM_REQUIRE_POSTGRES=1 PBM_REQUIRE_REDIS=1
# and tears everything down on exit. Missing packages are installed with apt-get when run as
# root on Debian; otherwise the script fails (a missing PostgreSQL is never a silent skip).
#
# Environment knobs: TMPDIR (where the throwaway dir goes), PBM_VENV (python venv to use),
# CARGO_TARGET_DIR (honoured when locating the pbm binary).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT_DIR="$(pwd)"

ONLY_PROVISION=0
CMD=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only-provision) ONLY_PROVISION=1; shift ;;
    --) shift; CMD=("$@"); break ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "test-all.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$ONLY_PROVISION" = 1 ] && [ ${#CMD[@]} -eq 0 ]; then
  echo "test-all.sh: --only-provision needs a command after --" >&2
  exit 2
fi

section() { printf '\n== %s ==\n' "$*"; }
die() { echo "test-all.sh: error: $*" >&2; exit 1; }

IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1

# ---------------------------------------------------------------------------------------------
section "checking system packages"

find_pg_bin() {
  local d best=""
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then best="$d"; fi
  done
  echo "$best"
}

have_redis() { command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; }
have_libpq_dev() { dpkg -s libpq-dev >/dev/null 2>&1 || [ -e /usr/include/postgresql/libpq-fe.h ]; }
have_python() { command -v python3 >/dev/null 2>&1; }
have_venv() { have_python && python3 -c 'import venv, ensurepip' >/dev/null 2>&1; }

PG_BIN="$(find_pg_bin)"
missing=()
[ -n "$PG_BIN" ] || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_libpq_dev || missing+=(libpq-dev)
have_python || missing+=(python3)
have_venv || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$IS_ROOT" = 1 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y "${missing[@]}"
    PG_BIN="$(find_pg_bin)"
  else
    die "missing packages: ${missing[*]}. Install them (Debian: apt-get install -y ${missing[*]}) or run this script as root."
  fi
fi
[ -n "$PG_BIN" ] || die "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin"
have_redis || die "redis-server / redis-cli not found"
echo "postgresql: $PG_BIN ($("$PG_BIN/postgres" --version))"
echo "redis:      $(command -v redis-server) ($(redis-server --version | awk '{print $3}'))"

# ---------------------------------------------------------------------------------------------
section "creating throwaway directory"

WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/pbm-test.XXXXXXXX")"
PG_DATA="$WORK_DIR/pgdata"
PG_SOCK="$WORK_DIR/pgsock"
PG_LOG="$WORK_DIR/postgres.log"
REDIS_DIR="$WORK_DIR/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
PG_STARTED=0
REDIS_STARTED=0
CHILD_PID=""
echo "$WORK_DIR"

# Runs a PostgreSQL admin command: as the postgres system user when we are root (initdb and
# postgres refuse to run as root), as ourselves otherwise.
as_pg() {
  if [ "$IS_ROOT" = 1 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  if [ -n "$CHILD_PID" ] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM "$CHILD_PID" 2>/dev/null
    wait "$CHILD_PID" 2>/dev/null
  fi
  if [ "$PG_STARTED" = 1 ]; then
    echo "== stopping postgres =="
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1
  fi
  if [ "$REDIS_STARTED" = 1 ] || [ -s "$REDIS_PID" ]; then
    echo "== stopping redis =="
    if [ -s "$REDIS_PID" ]; then
      local pid
      pid="$(cat "$REDIS_PID" 2>/dev/null)"
      if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
      fi
    elif [ -n "${REDIS_PORT:-}" ]; then
      redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1
    fi
  fi
  if [ -n "${WORK_DIR:-}" ] && [ -d "$WORK_DIR" ]; then
    rm -rf "$WORK_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$IS_ROOT" = 1 ]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "creating system user postgres"
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash --user-group postgres
  fi
  chown postgres: "$WORK_DIR"
  chmod 0755 "$WORK_DIR"
  if ! runuser -u postgres -- test -w "$WORK_DIR"; then
    die "the postgres user cannot write to $WORK_DIR (a parent of TMPDIR=${TMPDIR:-/tmp} is not traversable by it); set TMPDIR to e.g. /tmp"
  fi
fi
as_pg mkdir -p "$PG_SOCK"
mkdir -p "$REDIS_DIR"

# Runs a step as a child and waits for it, so that a signal sent to this script is handled at
# once (bash defers traps while a foreground child runs) and the cleanup can stop the child.
# `<&0` keeps stdin (non-interactive bash would give a background job /dev/null).
run() {
  "$@" <&0 &
  CHILD_PID=$!
  local rc=0
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return "$rc"
}

# Picks a free TCP port on 127.0.0.1 from START upward, skipping 55432 (taken on dev machines)
# and any port already chosen.
pick_port() {
  python3 - "$1" "${2:-0}" <<'EOF'
import socket, sys
start, taken = int(sys.argv[1]), int(sys.argv[2])
for port in range(start, start + 2000):
    if port in (55432, taken):
        continue
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port from %d" % start)
EOF
}

# ---------------------------------------------------------------------------------------------
section "provisioning postgres"

PGPORT="$(pick_port 54329)"
locale_flag=(--locale=C.UTF-8)
if ! locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
  locale_flag=(--no-locale)
fi
echo "initdb ${locale_flag[*]} (port $PGPORT)"
as_pg "$PG_BIN/initdb" -D "$PG_DATA" --auth=trust -U pbm -E UTF8 "${locale_flag[@]}" >"$WORK_DIR/initdb.log" 2>&1 || {
  cat "$WORK_DIR/initdb.log" >&2
  die "initdb failed"
}
PG_STARTED=1 # set before start: a start that times out may still leave a server behind
as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PG_SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
  start >/dev/null || { cat "$PG_LOG" >&2 || true; die "pg_ctl start failed"; }
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U pbm -d postgres \
  -c "CREATE DATABASE pbm_test" >/dev/null
export PBM_TEST_DATABASE_URL="postgres://pbm@127.0.0.1:$PGPORT/pbm_test"
echo "PBM_TEST_DATABASE_URL=$PBM_TEST_DATABASE_URL"

# ---------------------------------------------------------------------------------------------
section "provisioning redis"

REDIS_PORT="$(pick_port 63790 "$PGPORT")"
REDIS_STARTED=1
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$REDIS_DIR" --daemonize yes --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" >/dev/null
ok=0
for _ in $(seq 1 100); do
  if [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; then ok=1; break; fi
  sleep 0.1
done
[ "$ok" = 1 ] || { cat "$REDIS_LOG" >&2 || true; die "redis-server did not answer PING on port $REDIS_PORT"; }
export PBM_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
echo "PBM_TEST_REDIS_URL=$PBM_TEST_REDIS_URL"

export PBM_REQUIRE_POSTGRES=1
export PBM_REQUIRE_REDIS=1
export PBM_TEST_TMPDIR="$WORK_DIR"

# ---------------------------------------------------------------------------------------------
if [ "$ONLY_PROVISION" = 1 ]; then
  section "running: ${CMD[*]}"
  rc=0
  run "${CMD[@]}" || rc=$?
  exit "$rc"
fi

command -v cargo >/dev/null 2>&1 || die "cargo not found on PATH (install rustup; rust-toolchain.toml pins the toolchain)"
export CARGO_INCREMENTAL=0
LOCKED=()
[ -f Cargo.lock ] && LOCKED=(--locked)

section "proto contracts: lint and breaking changes (scripts/contracts.sh)"
run scripts/contracts.sh check

section "deployments: every region's overlay renders and validates (scripts/deploy-check.sh)"
run scripts/deploy-check.sh

section "cargo test --workspace ${LOCKED[*]}"
run cargo test --workspace "${LOCKED[@]}"

section "cargo build -p pbm ${LOCKED[*]}"
run cargo build "${LOCKED[@]}" -p pbm

section "python venv for the external gRPC test"
VENV="${PBM_VENV:-}"
if [ -z "$VENV" ]; then
  if [ -x "$HOME/.cache/pbm-venv/bin/python" ]; then
    VENV="$HOME/.cache/pbm-venv"
  else
    VENV="$WORK_DIR/venv"
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
echo "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check \
  grpcio grpcio-reflection grpcio-health-checking grpcio-status protobuf

section "external gRPC test (tests/external/run.py)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT_DIR/target}"
export PBM_BIN="${PBM_BIN:-$TARGET_DIR/debug/pbm}"
run "$VENV/bin/python" tests/external/run.py

section "provincial aggregation: 3 deployments and an unreachable one, then 20 timed (tests/external/province.py)"
run "$VENV/bin/python" tests/external/province.py

section "indicator library down the levels: province, city and county, the province and the city killed mid-stream (tests/external/mirror.py)"
run "$VENV/bin/python" tests/external/mirror.py

section "all tests passed"
