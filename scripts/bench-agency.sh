#!/usr/bin/env bash
# The agency and expert pool's numbers (docs/BENCHMARKS.md "Agency and expert pool"), over real
# gRPC:
#   DrawExperts 5 of 10,000 experts: p99 <= 20 ms
#   RecomputeRatings, 1,000 agencies x 50 engagements (+ the 10,000 experts): <= 200 ms
# on embedded SQLite, then on a throwaway PostgreSQL (scripts/test-all.sh --only-provision).
# Output: bench-out/agency.md. Exit code 3 when a target is missed.
# Knobs: BENCH_EXPERTS, BENCH_AGENCIES, BENCH_ENGAGEMENTS, BENCH_DRAWS, BENCH_RECOMPUTES.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != "--inner" ]; then
  cargo bench -p pbm-agency --bench rpc --no-run
  exec scripts/test-all.sh --only-provision -- "$0" --inner
fi

: "${PBM_TEST_DATABASE_URL:?run scripts/bench-agency.sh without arguments}"
mkdir -p bench-out
{
  echo "# Agency pool benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
  echo
  cargo bench -q -p pbm-agency --bench rpc || true
  cargo bench -q -p pbm-agency --bench rpc -- --postgres || true
} 2>&1 | grep -E '^(\||#|seeded|recompute|VERDICT|SQLite|PostgreSQL|$)' | tee bench-out/agency.md
# Each backend ends with pbm-bench's verdict block, whose last line is "<backend>: ALL TARGETS
# MET" or "… SOME TARGETS MISSED"; a crash leaves none.
if [ "$(grep -c 'ALL TARGETS MET' bench-out/agency.md)" -eq 2 ]; then
  exit 0
fi
echo "bench-agency.sh: a target was missed or a run failed (bench-out/agency.md)" >&2
exit 3
