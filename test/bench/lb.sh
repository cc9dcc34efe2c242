#!/usr/bin/env bash
# Load-balancer benchmark (issue 7), in a network namespace of its own with a private hull
# daemon and 3 replicas of test/images/httpd behind one published port:
#
#   hull      wrk → the service port on the host's bridge address (nftables DNAT, round-robin)
#   direct    wrk → the replicas themselves, one wrk thread per replica (client-side round robin)
#   haproxy   wrk → haproxy (Debian) in TCP mode, roundrobin over the same replicas
#
# each with keepalive and with a new connection per request (Connection: close); then the
# failed requests of a connection-per-request run during which one replica is SIGKILLed
# (1 s in, 3 s in all): hull takes it out of the balancer when the daemon sees it die.
#
#   test/bench/lb.sh [bin/hull]       DURATION=3 (seconds per wrk run)
#
# Prints req/s and ratios; appends JSON lines to $BENCH_OUT when set (area "lb"; cases
# keepalive, close, kill-failures; tools hull, direct, haproxy). Needs root, wrk, haproxy.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HULL=$(realpath "${1:-$REPO/bin/hull}")
DURATION=${DURATION:-3}
[[ $(id -u) == 0 ]] || { echo "lb.sh: needs root" >&2; exit 2; }
for c in wrk haproxy busybox; do command -v $c >/dev/null || { echo "lb.sh: needs $c (make deps)" >&2; exit 2; }; done

NS=hull-lbbench-$$
DIR=$(mktemp -d /tmp/hull-lbbench.XXXXXX)
PROJECT=lbbench$$
FLAGS=(--root "$DIR/run" --socket "$DIR/hull.sock" --data-dir "$DIR/data" --network-dir "$DIR/networks" --image-dir "$DIR/images")
DAEMON= HAPROXY=
h() { "$HULL" "${FLAGS[@]}" "$@"; }
in_ns() { nsenter --net=/run/netns/$NS "$@"; }
cleanup() {
	set +e
	[[ -n $HAPROXY ]] && kill "$HAPROXY" 2>/dev/null && wait "$HAPROXY" 2>/dev/null
	[[ -n $DAEMON ]] && { h down -p "$PROJECT" >/dev/null 2>&1; kill "$DAEMON"; wait "$DAEMON" 2>/dev/null; }
	ip netns del $NS 2>/dev/null
	rm -rf "$DIR"
}
trap cleanup EXIT

mkdir -p "$DIR/rootfs/bin" "$DIR/rootfs/proc" "$DIR/rootfs/dev" "$DIR/rootfs/sys" "$DIR/rootfs/tmp" "$DIR/rootfs/etc"
cp "$(command -v busybox)" "$DIR/rootfs/bin/busybox"
ln -s busybox "$DIR/rootfs/bin/sh"
(cd "$REPO" && CGO_ENABLED=0 go build -o "$DIR/rootfs/bin/webd" ./test/images/httpd)
ip netns add $NS
ip -n $NS link set lo up
in_ns "$HULL" "${FLAGS[@]}" daemon >"$DIR/daemon.log" 2>&1 &
DAEMON=$!
for _ in $(seq 100); do h service ls >/dev/null 2>&1 && break; sleep 0.1; done
cat >"$DIR/compose.yaml" <<YAML
name: $PROJECT
services:
  web:
    image: ./rootfs
    command: ["/bin/webd"]
    restart: always
    ports: ["18090:80"]
    deploy: {replicas: 3}
    x-hull:
      probe: {type: http, port: 80, path: /healthz, interval: 200ms, timeout: 1s, retries: 2}
YAML
(cd "$DIR" && h up -d -f compose.yaml >/dev/null)
for _ in $(seq 300); do
	[[ $(h service ps --format json "$PROJECT/web" | grep -o '"health": "healthy"' | wc -l) == 3 ]] && break
	sleep 0.1
done
mapfile -t ADDRS < <(h service ps --format json "$PROJECT/web" | grep -o '"address": "[0-9.]*"' | cut -d'"' -f4)
[[ ${#ADDRS[@]} == 3 ]] || { echo "lb.sh: replicas not ready" >&2; cat "$DIR/daemon.log" >&2; exit 1; }
GW=$(ip -n $NS -o -4 addr show | awk '$2 != "lo" {split($4, a, "/"); print a[1]; exit}')

{
	echo "global"
	echo "  maxconn 4096"
	echo "defaults"
	echo "  mode tcp"
	echo "  timeout connect 2s"
	echo "  timeout client 10s"
	echo "  timeout server 10s"
	echo "listen web"
	echo "  bind $GW:18091"
	echo "  balance roundrobin"
	i=0; for a in "${ADDRS[@]}"; do echo "  server w$i $a:80"; i=$((i + 1)); done
} >"$DIR/haproxy.cfg"
in_ns haproxy -db -f "$DIR/haproxy.cfg" >"$DIR/haproxy.log" 2>&1 &
HAPROXY=$!
sleep 0.5

# direct: wrk's setup() gives each thread one replica's address.
cat >"$DIR/direct.lua" <<LUA
local addrs, n = {}, 0
for _, a in ipairs({"${ADDRS[0]}", "${ADDRS[1]}", "${ADDRS[2]}"}) do addrs[#addrs + 1] = wrk.lookup(a, "80")[1] end
function setup(thread) n = n + 1; thread.addr = addrs[(n - 1) % #addrs + 1] end
LUA

# rps TOOL CASE: one wrk run; prints requests/s.
rps() {
	local url extra=() hdr=()
	case $1 in
	hull) url=http://$GW:18090/ ;;
	direct) url=http://${ADDRS[0]}:80/ extra=(-s "$DIR/direct.lua") ;;
	haproxy) url=http://$GW:18091/ ;;
	esac
	[[ $2 == close ]] && hdr=(-H "Connection: close")
	in_ns wrk -t3 -c12 -d"${DURATION}s" "${hdr[@]}" "${extra[@]}" "$url" | awk '/^Requests\/sec/ {print $2}'
}

emit() { # case tool unit value
	[[ -n ${BENCH_OUT:-} ]] && printf '{"area":"lb","case":"%s","tool":"%s","unit":"%s","samples":[%s]}\n' "$1" "$2" "$3" "$4" >>"$BENCH_OUT"
	return 0
}

echo "== load balancer (3 replicas; targets: hull ≥ 0.9× direct and ≥ 1.3× haproxy)"
for c in keepalive close; do
	declare -A R=()
	for tool in direct hull haproxy; do
		R[$tool]=$(rps $tool $c)
		emit "$c" "$tool" req/s "${R[$tool]}"
	done
	printf '%-10s direct %10.0f req/s   hull %10.0f (%.2f× direct)   haproxy %10.0f (hull %.2f× haproxy)\n' "$c" \
		"${R[direct]}" "${R[hull]}" "$(echo "${R[hull]} / ${R[direct]}" | bc -l)" "${R[haproxy]}" "$(echo "${R[hull]} / ${R[haproxy]}" | bc -l)"
done

# A replica SIGKILLed 1 s into a connection-per-request run: wrk's socket errors and non-2xx.
VICTIM=$(h service ps --format json "$PROJECT/web" | grep -o '"pid": [0-9]*' | head -1 | cut -d: -f2 | tr -d " ")
in_ns wrk -t3 -c12 -d3s -H "Connection: close" "http://$GW:18090/" >"$DIR/kill.out" &
WRK=$!
sleep 1
kill -9 "$VICTIM"
wait $WRK
errors=$(awk '/Socket errors/ {gsub(",", ""); s += $4 + $6 + $8 + $10} /Non-2xx/ {s += $NF} END {print s + 0}' "$DIR/kill.out")
total=$(awk '/requests in/ {print $1}' "$DIR/kill.out")
echo "kill-failures: $errors failed of $total requests in 3 s with one replica SIGKILLed at 1 s"
emit kill-failures hull requests "$errors"
