#!/bin/sh
# Lesson 04: a veth pair and a bridge.
# A container's network namespace starts with only a loopback. hull connects it with a veth
# pair (a virtual cable: what goes in one end comes out the other) whose one end is the
# container's eth0 and whose other end is plugged into a bridge (a virtual switch) on the host,
# which holds the gateway address. Everything here happens inside a network namespace this
# lesson makes (the "lab host"), so the machine's own network is never touched.
. "$(dirname "$0")/lib.sh"
lab_ns=$(basename "$lab")
ip netns add "$lab_ns"
later "ip netns del $lab_ns"
# labhull: hull run in the lab host's network namespace (mounts, cgroups, state: the real host's).
labhull() { nsenter --net="/run/netns/$lab_ns" "$HULL" --root "$lab/state" --network-dir "$lab/networks" "$@"; }
# labhost: a command in the lab host's network namespace.
labhost() { ip netns exec "$lab_ns" "$@"; }

say "Before: the lab host has only a loopback"
show "labhost ip -br link"

say "A network: a bridge with the gateway address, forwarding, masquerade (each step narrated)"
show "labhull --explain network create --subnet 10.77.4.0/24 lab04 2>&1 | grep -E '^ +(\\\$|why)'"
later "labhull network rm lab04"
br=$(labhull network ls | awk '$1 == "lab04" {print $2}')
show "labhost ip -br addr show $br"
expect "the bridge holds the gateway address" sh -c "ip netns exec $lab_ns ip -br addr show $br | grep -q 10.77.4.1/24"

say "A container on it (annotation org.hullrt.network): watch the veth pair being made"
top='"annotations": {"org.hullrt.network": "lab04"}'
bundle "$lab/b" '"sleep", "300"' "" "" "$top"
# (Into a file, not a pipe: the container keeps create's stdout, and a pipe would never end.)
show "cd $lab/b && labhull --explain create web </dev/null >$lab/create.log 2>&1"
later "labhull delete --force web"
show "grep -A1 -E '^ *[0-9]+ netlink ' $lab/create.log | grep -E '^ +\\\$'"
labhull start web

say "After: one end of the cable is the container's eth0, the other is on the bridge"
show "labhull exec web ip -4 -o addr show eth0"
show "labhull exec web ip route"
peer=$(labhull exec web cat /sys/class/net/eth0/iflink)
echo "eth0's peer is interface index $peer on the lab host:"
show "labhost ip -o link | grep '^$peer:'"
expect "the container's eth0 is paired with a veth on the lab host's bridge" \
	sh -c "ip netns exec $lab_ns ip -o link | grep '^$peer:' | grep -q 'master $br'"
webip=$(labhull exec web ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1)
expect "the container got an address from the network's subnet" sh -c "echo $webip | grep -q '^10\\.77\\.4\\.'"

say "A second container pings the first through the bridge"
bundle "$lab/c" "\"ping\", \"-c\", \"2\", \"-W\", \"2\", \"$webip\"" "" "" "$top"
show "cd $lab/c && labhull run client | tee $lab/ping.log"
expect "the ping came back" grep -q '2 packets received' "$lab/ping.log"

say "The bridge's ports: one veth per container"
show "labhost ip -br link show master $br"
echo
echo "lesson 04: PASS"
