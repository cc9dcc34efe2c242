#!/usr/bin/env bash
# Network benchmark: attach + detach of one container's network by hull's netns package
# (in-process), by the same steps as ip(8) commands, and by the CNI bridge plugin (Debian's
# containernetworking-plugins), in one run, in network namespaces of its own.
#
#   test/bench/net.sh            30 rounds
#   QUICK=1 test/bench/net.sh    10 rounds, for CI
#
# Prints medians and ratios; appends JSON lines to $BENCH_OUT when set (area "network",
# cases attach, detach, attach+detach; tools hull, ip, cni). Needs root and iproute2.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ROUNDS=${ROUNDS:-$([[ -n ${QUICK:-} ]] && echo 10 || echo 30)}
[[ $(id -u) == 0 ]] || { echo "net.sh: needs root" >&2; exit 2; }
command -v ip >/dev/null || { echo "net.sh: needs ip (iproute2)" >&2; exit 2; }
[[ -x /usr/lib/cni/bridge ]] || echo "net.sh: no /usr/lib/cni/bridge (apt install containernetworking-plugins): CNI is skipped" >&2
BIN=$(mktemp -d /tmp/hull-netbench.XXXXXX)
trap 'rm -rf "$BIN"' EXIT
(cd "$REPO" && CGO_ENABLED=0 go build -o "$BIN/netbench" ./test/bench/netbench)
"$BIN/netbench" -rounds "$ROUNDS" ${BENCH_OUT:+-out "$BENCH_OUT"}
