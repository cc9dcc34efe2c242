#!/bin/sh
# Lesson 01: a process in new namespaces.
# A container is an ordinary process that the kernel shows a different world: its own pid
# numbers, hostname, mount table, IPC objects and network stack. Each of those is a namespace,
# made by clone(2) with CLONE_NEW* flags. Here we start one and compare it with the host.
. "$(dirname "$0")/lib.sh"

say "The plan: which namespaces the container gets (hull run --dry-run, no root needed)"
bundle "$lab/b" '"sleep", "300"'
show "cd $lab/b && $HULL run --dry-run lesson01 | grep -A2 ' clone '"

say "Start the container: create makes it, start runs its process (sleep 300)"
show "cd $lab/b && hull create lesson01 </dev/null >$lab/create.log 2>&1 && hull start lesson01"
later "hull delete --force lesson01"
pid=$(pid_of lesson01)
echo "the container's process is pid $pid on the host"

say "Before/after: the host's namespaces (this shell) and the container's, by inode number"
show "ls -l /proc/$$/ns/ | sed -n 's/.* \(.*\) -> \(.*\)/host       \1 \2/p' | grep -v for_children"
show "ls -l /proc/$pid/ns/ | sed -n 's/.* \(.*\) -> \(.*\)/container  \1 \2/p' | grep -v for_children"
for ns in pid mnt uts ipc net; do
	expect "the container has its own $ns namespace" test "$(readlink /proc/$$/ns/$ns)" != "$(readlink /proc/$pid/ns/$ns)"
done
expect "it shares the host's user namespace (the spec asks for none)" test "$(readlink /proc/$$/ns/user)" = "$(readlink /proc/$pid/ns/user)"

say "The same process has two pids: one on the host, and 1 in its own pid namespace"
show "grep NSpid /proc/$pid/status"
expect "it is pid 1 inside" test "$(awk '/^NSpid/ {print $3}' /proc/$pid/status)" = 1
show "hull exec lesson01 ps -o pid,args"

say "Its own hostname (UTS namespace), its own network stack (only lo, down), its own mounts"
show "hostname; hull exec lesson01 hostname"
show "hull exec lesson01 ip -o link"
expect "the container sees only a loopback interface" test "$(hull exec lesson01 ip -o link | wc -l)" = 1
show "head -3 /proc/$pid/mountinfo"
expect "its / is the bundle's rootfs directory" test "$(awk '$5 == "/" {print $4}' /proc/$pid/mountinfo)" = "$lab/b/rootfs"

say "Join its namespaces by hand, as hull exec does (nsenter = setns(2))"
show "nsenter -t $pid --uts --pid --mount hostname"
echo
echo "lesson 01: PASS"
