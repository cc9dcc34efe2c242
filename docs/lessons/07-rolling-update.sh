#!/bin/sh
# Lesson 07: a rolling update.
# Containers are not patched: a change to a service makes a new revision, and the supervisor
# replaces replicas with new ones a few at a time (update_config). With order: start-first a
# new replica is started and must be ready before an old one leaves the load balancer, so the
# service never has fewer replicas serving than it should; each old one is drained (out of the
# balancer first, then its stop signal). Every revision is kept, so a rollback is one command.
. "$(dirname "$0")/lib.sh"
lab_ns=$(basename "$lab")
ip netns add "$lab_ns"
later "ip netns del $lab_ns"
ip -n "$lab_ns" link set lo up
flags="--root $lab/state --network-dir $lab/networks --socket $lab/hull.sock --data-dir $lab/data --image-dir $lab/images"
labhull() { "$HULL" $flags "$@"; }
# get: one request to the published port, from the lab host.
get() { printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$lab_ns" busybox nc -w 2 127.0.0.1 8080 | tail -n 1; }

bundle "$lab/img" '"true"'
mkdir -p "$lab/img/rootfs/v1" "$lab/img/rootfs/v2"
echo "version 1" >"$lab/img/rootfs/v1/index.html"
echo "version 2" >"$lab/img/rootfs/v2/index.html"
# stack VERSION: the compose file serving /VERSION as the site.
stack() {
	cat >"$lab/compose.yaml" <<YAML
name: lesson07
services:
  web:
    image: ./img/rootfs
    command: ["httpd", "-f", "-p", "80", "-h", "/$1"]
    ports: ["8080:80"]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      update_config: {parallelism: 1, order: start-first, monitor: 1s}
    x-hull:
      drain: 200ms
      probe: {type: tcp, port: 80, interval: 200ms, timeout: 1s, retries: 1}
YAML
}
# col NAME: ps' column NAME (found by its header) of each replica: NAME, then the value.
col() { labhull service ps lesson07/web | awk -v c="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) n = i; next} {print $1, $n}'; }
# ready REVISION: both replicas of that revision healthy and running.
ready() { [ "$(labhull service ps lesson07/web | grep -c " $1 .*running *healthy")" = 2 ]; }
waitfor() { i=0; until "$@"; do i=$((i + 1)); [ $i -lt 300 ] || { labhull service ps lesson07/web; exit 1; }; sleep 0.1; done; }

nsenter --net="/run/netns/$lab_ns" "$HULL" $flags daemon >"$lab/daemon.log" 2>&1 &
daemon=$!
later "kill $daemon; wait $daemon 2>/dev/null"
waitfor labhull service ls >/dev/null 2>&1

say "Revision 1: two replicas serving version 1"
stack v1
show "grep -A3 update_config $lab/compose.yaml"
show "labhull up -d -f $lab/compose.yaml"
later "labhull down -p lesson07"
rev1=$(labhull service history lesson07/web | awk 'NR == 2 {print $1}')
waitfor ready "$rev1"
show "labhull service ps lesson07/web"
show "get"

say "Change the service (serve version 2) and apply it again: a new revision rolls out"
stack v2
show "labhull up -d -f $lab/compose.yaml"
# Ask the port while the rollout runs: every answer must be a version, never an error.
fails=0 n=0
while :; do
	a=$(get); n=$((n + 1))
	case $a in "version "*) ;; *) fails=$((fails + 1)) ;; esac
	rev2=$(labhull service history lesson07/web | awk 'NR == 2 {print $1}')
	[ "$rev2" != "$rev1" ] && ready "$rev2" && break
	[ $n -lt 600 ] || { echo "the rollout did not finish"; exit 1; }
done
show "labhull service ps lesson07/web"
show "labhull service history lesson07/web"
show "get"
echo "$n requests during the rollout, $fails failed"
expect "no request failed while the replicas were replaced" [ "$fails" = 0 ]
expect "the port now serves version 2" [ "$(get)" = "version 2" ]

say "Roll back: the previous revision comes back the same way"
show "labhull service rollback lesson07/web"
waitfor ready "$rev1"
show "labhull service ps lesson07/web"
expect "the port serves version 1 again" [ "$(get)" = "version 1" ]
echo
echo "lesson 07: PASS"
