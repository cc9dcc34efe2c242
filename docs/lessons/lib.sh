# lib.sh: what every lesson shares. Sourced by run.sh's lessons; not run on its own.
# Each lesson works in a lab directory of its own (and, for networks, a network namespace of its
# own), checks what it claims (a failed check exits non-zero), and removes everything it made.
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
HULL=${HULL:-$repo/bin/hull}
[ "$(id -u)" = 0 ] || { echo "the lessons need root (containers, cgroups, mounts)"; exit 1; }
[ -x "$HULL" ] || { echo "no hull at $HULL: run make build first (or set HULL)"; exit 1; }
[ -x /bin/busybox ] || { echo "no /bin/busybox: apt-get install busybox-static"; exit 1; }
undo="" lab=""
# later ACTION: run ACTION when the lesson ends, however it ends (last registered runs first).
later() { undo="$1; $undo"; }
finish() { set +e; eval "$undo"; [ -z "$lab" ] || rm -rf "$lab"; }
trap finish EXIT
trap 'exit 130' INT TERM
lab=$(mktemp -d /tmp/hull-lesson-XXXXXX)
chmod 755 "$lab"
hull() { "$HULL" --root "$lab/state" "$@"; }

# say TEXT: a heading for the next step.
say() { printf '\n== %s\n' "$*"; }
# show CMD: print a shell command, then run it, so the learner sees what produced the output.
show() { printf '$ %s\n' "$*"; eval "$*"; }
# expect DESCRIPTION TEST...: the lesson's claim, checked; a false claim fails the lesson.
expect() {
	what=$1; shift
	if "$@"; then echo "ok: $what"; else echo "FAILED: $what"; exit 1; fi
}

# bundle DIR ARGS [LINUX] [RESOURCES] [TOP]: a busybox bundle from `hull spec`, whose process runs
# ARGS (JSON strings without a '|', e.g. '"sleep", "60"') without a terminal; LINUX, RESOURCES and TOP are
# extra JSON members for linux, linux.resources and the top level. The cgroup is unique to the lab.
bundle() {
	b=$1
	mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp" "$b/rootfs/etc"
	cp /bin/busybox "$b/rootfs/bin/busybox"
	for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$b/rootfs/bin/$a"; done
	echo 'root:x:0:0:root:/:/bin/sh' >"$b/rootfs/etc/passwd"
	echo 'root:x:0:' >"$b/rootfs/etc/group"
	(cd "$b" && "$HULL" spec)
	linux="\"cgroupsPath\": \"/$(basename "$lab")\"${3:+, $3}"
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e "/^\t\t\"args\": \[\$/{N;N;s|.*|\t\t\"args\": [$2],|}" \
		-e "s|^\t\"linux\": {\$|\t\"linux\": {\n\t\t$linux,|" "$b/config.json"
	if [ -n "${4:-}" ]; then sed -i "s|^\t\t\"resources\": {\$|\t\t\"resources\": {\n\t\t\t$4,|" "$b/config.json"; fi
	if [ -n "${5:-}" ]; then sed -i "1s|^{\$|{\n\t$5,|" "$b/config.json"; fi
}

# pid_of ID: the host pid of a container's process.
pid_of() { hull state "$1" | sed -n 's/^ *"pid": \([0-9]*\),*$/\1/p'; }

# wait_stopped ID: until the container's process has exited.
wait_stopped() {
	i=0
	while ! hull state "$1" | grep -q '"status": "stopped"'; do
		i=$((i + 1)); [ $i -lt 300 ] || { echo "container $1 did not stop"; exit 1; }
		sleep 0.1
	done
}

# cgdir CONTROLLER: the lab container's cgroup directory on the host (v1: in the controller's
# hierarchy; pure v2: the one tree).
cgdir() {
	if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo "/sys/fs/cgroup/$(basename "$lab")"
	else
		echo "/sys/fs/cgroup/$1/$(basename "$lab")"
	fi
}
