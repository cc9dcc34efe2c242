#!/bin/sh
# Lesson 06: a supervisor healing a replica.
# A container runtime starts a process and forgets it. A supervisor keeps a declared number of
# replicas alive: it holds a pidfd for each, so the kernel tells it the moment one dies; it
# records how (exit code, signal, OOM), waits a backoff, and starts a replacement. Its state is
# in a bbolt file, so killing the supervisor itself loses nothing. The lesson's daemon runs in a
# network namespace it makes, with its own state directories.
. "$(dirname "$0")/lib.sh"
lab_ns=$(basename "$lab")
ip netns add "$lab_ns"
later "ip netns del $lab_ns"
ip -n "$lab_ns" link set lo up
flags="--root $lab/state --network-dir $lab/networks --socket $lab/hull.sock --data-dir $lab/data --image-dir $lab/images"
labhull() { "$HULL" $flags "$@"; }

bundle "$lab/img" '"true"'
mkdir -p "$lab/img/rootfs/www" && echo "hello" >"$lab/img/rootfs/www/index.html"
cat >"$lab/compose.yaml" <<YAML
name: lesson06
services:
  web:
    image: ./img/rootfs
    command: ["httpd", "-f", "-p", "80", "-h", "/www"]
    restart: always
    stop_grace_period: 1s
    deploy: {replicas: 2}
    x-hull:
      backoff: {initial: 500ms}
YAML
say "The stack file: 2 replicas, restart always, first backoff 500 ms"
show "cat $lab/compose.yaml"

say "A supervisor (hull daemon) and the stack"
nsenter --net="/run/netns/$lab_ns" "$HULL" $flags daemon >"$lab/daemon.log" 2>&1 &
daemon=$!
later "kill $daemon; wait $daemon 2>/dev/null"
i=0; until labhull service ls >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
show "labhull up -d -f $lab/compose.yaml"
later "labhull down -p lesson06"
# col NAME: print ps' column NAME (found by its header) of each replica: NAME, then the value.
col() { labhull service ps lesson06/web | awk -v c="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) n = i; next} {print $1, $n}'; }
running() { col STATE | grep -c ' running$'; }
i=0; until [ "$(running)" = 2 ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
show "labhull service ps lesson06/web"

say "A crash: kill -9 of web-1's process"
pid=$(col PID | awk '$1 == "web-1" {print $2}')
show "kill -9 $pid"
sleep 0.1
show "labhull service ps lesson06/web"
echo "(web-1 exited, killed by SIGKILL; its replacement waits for the 500 ms backoff)"
i=0; until [ "$(running)" = 2 ]; do i=$((i + 1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done
show "labhull service ps lesson06/web"
newpid=$(col PID | awk '$1 == "web-1" {print $2}')
expect "web-1 was replaced: a new process, the SIGKILL recorded" sh -c \
	"[ '$newpid' != '$pid' ] && labhull() { \"$HULL\" $flags \"\$@\"; }; labhull service ps lesson06/web | grep '^web-1 ' | grep -q SIGKILL"

say "The supervisor's own events"
show "grep -E 'exit|start' $lab/daemon.log | tail -n 4"
echo
echo "lesson 06: PASS"
