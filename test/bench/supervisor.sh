#!/usr/bin/env bash
# Supervisor benchmarks (issue 6): crash → replacement p50/p99, `hull up -d` of 100 replicas and the
# daemon's RSS, per-replica host overhead. Appends JSON lines to $BENCH_OUT when set.
#
#   test/bench/supervisor.sh [bin/hull]        QUICK=1: 20 crashes, 30 replicas
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HULL=${1:-$REPO/bin/hull}
CRASHES=50 REPLICAS=100
[[ -n ${QUICK:-} ]] && CRASHES=20 REPLICAS=30
echo "== supervisor (hull daemon; targets: crash→replacement p50 ≤ 100 ms, per-replica overhead ≤ 0.1 MB)"
cd "$REPO" && go run ./test/bench/supbench -hull "$HULL" -crashes "$CRASHES" -replicas "$REPLICAS"
