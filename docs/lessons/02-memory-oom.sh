#!/bin/sh
# Lesson 02: a memory limit and an OOM kill.
# A cgroup is a directory in a special filesystem; writing a number into one of its files is a
# limit for every process in it. When the processes of a memory cgroup need more than its limit
# and nothing can be reclaimed, the kernel's OOM killer kills one of them, and only there.
. "$(dirname "$0")/lib.sh"
limit=$((16 * 1024 * 1024))

# The process reads its own limit, then tries to hold 64 MiB in a shell variable.
bundle "$lab/b" '"/bin/hog"' "" "\"memory\": {\"limit\": $limit, \"swap\": $limit}"
cat >"$lab/b/rootfs/bin/hog" <<'HOG'
#!/bin/sh
echo "limit seen inside: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max 2>/dev/null)"
x=$(head -c 67108864 /dev/zero | tr '\0' a)
echo "survived with ${#x} bytes"
HOG
chmod +x "$lab/b/rootfs/bin/hog"
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
	limit_file=memory.max; events=memory.events
else
	limit_file=memory.limit_in_bytes; events=memory.oom_control
fi
mem=$(cgdir memory)

say "What hull will write: the cgroup.write steps of the plan"
show "cd $lab/b && $HULL --explain run --dry-run lesson02 2>&1 | grep -A2 'cgroup.write memory'"

say "Create the container: its cgroup exists now, with the limit in it"
show "cd $lab/b && hull create lesson02 </dev/null >$lab/out.log 2>&1"
later "hull delete --force lesson02"
show "cat $mem/$limit_file"
expect "the limit is in the cgroup's file" test "$(cat "$mem/$limit_file")" = "$limit"
pid=$(pid_of lesson02)
show "cat $mem/cgroup.procs"
expect "the container's process is in that cgroup" grep -qx "$pid" "$mem/cgroup.procs"

say "Start it: the shell asks for 64 MiB and the OOM killer answers"
show "hull start lesson02"
wait_stopped lesson02
show "cat $lab/out.log"
show "cat $mem/$events"
expect "the kernel counted an OOM kill in this cgroup" test "$(awk '$1 == "oom_kill" {print $2}' "$mem/$events")" -ge 1
expect "the process never got to say it survived" sh -c "! grep -q survived $lab/out.log"
if [ -f "$mem/memory.max_usage_in_bytes" ]; then
	show "cat $mem/memory.max_usage_in_bytes $mem/memory.failcnt"
	expect "usage never went above the limit" test "$(cat "$mem/memory.max_usage_in_bytes")" -le "$limit"
fi
say "The host never noticed: only the container's process was killed"
show "hull delete lesson02"
expect "delete removed the cgroup" test ! -d "$mem"
echo
echo "lesson 02: PASS"
