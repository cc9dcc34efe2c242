#!/usr/bin/env bash
# OCI runtime conformance: run the `validation` programs of opencontainers/runtime-tools against a runtime.
#
#   test/conformance/run.sh RUNTIME      e.g. bin/hull, /usr/sbin/runc, /usr/bin/crun
#
# See README.md beside this file. Needs root. Environment knobs:
#   RT_TOOLS_VERSION  runtime-tools module version (default: pinned pseudo-version of master below)
#   TIMEOUT           per-program timeout in seconds (default 60)
#   ONLY              space-separated program names to run (default: all)
#   EXPECTED          allow-list file (default: expected-failures.<runtime basename>.txt if it exists,
#                     else expected-failures.txt)
#   CGROUP_PARENT     absolute cgroup parent injected into configs that set no linux.cgroupsPath
#                     (default /hullconf; empty disables the injection)
#   KEEP=1            keep the work dir (TAP output, state) for inspection
set -euo pipefail

# The proxy does not serve "@master" for this module, only pseudo-versions of it (both far ahead of the
# last tag, v0.9.0): master of 2022-11-07, whose configs say ociVersion 1.0.2-dev, and master of
# 2025-11-14 (v0.9.1-0.20251114084447-edf4cb3d2116), whose configs say 1.3.0. crun 1.8.1 refuses 1.3.0
# ("unknown version specified"), so the default is the 2022 one: runc, crun and hull are compared on
# the same programs. The allow-lists are for the default.
RT_TOOLS_VERSION=${RT_TOOLS_VERSION:-v0.9.1-0.20221107090550-2e043c6bd626}
RT_TOOLS_MODULE=github.com/opencontainers/runtime-tools
TIMEOUT=${TIMEOUT:-60}
CGROUP_PARENT=${CGROUP_PARENT-/hullconf}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=$HERE/.cache

die() { echo "conformance: $*" >&2; exit 2; }

# build_suite prints the directory holding runtimetest, rootfs-amd64.tar.gz and bin/<program>.
build_suite() {
	local dir=$CACHE/runtime-tools@$RT_TOOLS_VERSION
	if [[ -f $dir/.built ]]; then
		echo "$dir"
		return
	fi
	mkdir -p "$CACHE"
	local src
	src=$(GOWORK=off GOFLAGS=-mod=mod go mod download -json "$RT_TOOLS_MODULE@$RT_TOOLS_VERSION" | jq -r .Dir)
	[[ -d $src ]] || die "go mod download $RT_TOOLS_MODULE@$RT_TOOLS_VERSION gave no directory"
	rm -rf "$dir"
	cp -r "$src" "$dir"
	chmod -R u+w "$dir"
	# Module zips drop vendor/ contents but keep modules.txt; build from the module proxy instead.
	rm -rf "$dir/vendor"
	(
		cd "$dir"
		export GOWORK=off GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
		go build -tags "netgo osusergo" -o runtimetest ./cmd/runtimetest
		local pkgs=()
		for d in validation/*/; do
			[[ $(basename "$d") == util ]] || pkgs+=("./$d")
		done
		mkdir -p bin
		go build -o bin/ "${pkgs[@]}"
	) >&2 || die "building runtime-tools validation programs failed"
	[[ -f $dir/rootfs-amd64.tar.gz ]] || die "module has no rootfs-amd64.tar.gz"
	touch "$dir/.built"
	echo "$dir"
}

# cgroup_dirs lists the cgroup directories this suite may create: the validation programs' /cgrouptest
# and testdir/cgrouptest/container, and our $CGROUP_PARENT. Nothing else: other tests (hull's own e2e)
# may create and remove cgroups concurrently, and those are none of our business. It does not descend
# into process_api except for our own memory cgroup (read-only: where a relative cgroupsPath lands).
cgroup_dirs() {
	local own re='/(cgrouptest|testdir)(/|$)'
	[[ -n $CGROUP_PARENT ]] && re="$re|^/sys/fs/cgroup/[^/]+${CGROUP_PARENT}(/|$)"
	own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
	{
		find /sys/fs/cgroup \( -path '*/process_api' -o -path /sys/fs/cgroup/unified \) -prune -o -type d -print 2>/dev/null
		if [[ $own == /process_api/* && -d /sys/fs/cgroup/memory$own ]]; then
			find "/sys/fs/cgroup/memory$own" -mindepth 1 -type d -print 2>/dev/null
		fi
	} | grep -E "$re" || true
}

# stray_pids prints pids (not ours) whose cmdline, cwd or root mentions $1.
stray_pids() {
	local pat=$1 p
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p == "$$" || $p == "$BASHPID" ]] && continue
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$pat" ||
			readlink "/proc/$p/cwd" 2>/dev/null | grep -qF -- "$pat" ||
			readlink "/proc/$p/root" 2>/dev/null | grep -qF -- "$pat"; then
			echo "$p"
		fi
	done
}

# tap_counts FILE prints "ok notok skip plan", summed over the TAP streams in FILE (some programs print
# one stream per sub-test). Several programs report a failed lifecycle only as a YAML diagnostic with an
# "error" key under plan 1..0: such a stream counts as one failure.
tap_counts() {
	awk '
		function flush() {
			if (started && spoints == 0 && yamlerr) { notok++; splan = 1 }
			plan += splan; splan = 0; spoints = 0; yamlerr = 0
		}
		/^TAP version/ { flush(); started = 1; next }
		/^not ok/ { started = 1; spoints++; if ($0 ~ /# *TODO/) ok++; else notok++; next }
		/^ok/ { started = 1; spoints++; ok++; if (tolower($0) ~ /# *skip/) skip++; next }
		/^1\.\.[0-9]+/ { started = 1; split($0, a, "\\.\\."); splan = a[2] + 0; next }
		/^  +"error":/ { yamlerr++ }
		END { flush(); printf "%d %d %d %d\n", ok, notok, skip, plan }
	' "$1"
}

# inner runs inside a private mount namespace in which /sys/fs/cgroup/unified is unmounted.
inner() {
	local suite=$1 work=$2 runtime=$3
	shift 3
	local wrap=$work/runtime state=$work/state out=$work/out
	mkdir -p "$work/tmp" "$state" "$out" "$work/cwd"
	# Real copies: the programs copy runtimetest into each bundle and would copy a symlink as a symlink.
	cp "$suite/runtimetest" "$suite/rootfs-amd64.tar.gz" "$work/cwd/"
	# The programs call "$RUNTIME create|start|state|kill|delete" without --root; the wrapper adds a
	# private state dir so leftovers are visible, and (CGROUP_PARENT) an absolute cgroupsPath where the
	# config has none, so default containers do not land under our own (process_api) memory cgroup.
	cat >"$wrap" <<EOF
#!/bin/bash
if [[ \$1 == create && -n "$CGROUP_PARENT" ]]; then
	b=.; id=
	a=("\$@")
	for ((i = 1; i < \${#a[@]}; i++)); do
		case \${a[i]} in
		--bundle|-b) b=\${a[i+1]}; i=\$((i+1)) ;;
		--bundle=*) b=\${a[i]#--bundle=} ;;
		--pid-file|--console-socket|--preserve-fds) i=\$((i+1)) ;;
		-*) ;;
		*) id=\${a[i]} ;;
		esac
	done
	c=\$b/config.json
	if [[ -n \$id && -f \$c ]] && [[ \$(jq -r '.linux.cgroupsPath // ""' "\$c") == "" ]]; then
		jq --arg p "$CGROUP_PARENT/\$id" '.linux.cgroupsPath = \$p' "\$c" >"\$c.hullconf" && mv "\$c.hullconf" "\$c"
	fi
fi
exec "$runtime" --root "$state" "\$@"
EOF
	chmod +x "$wrap"

	local before_cg=$work/cgroups.before after_cg=$work/cgroups.after
	cgroup_dirs | sort >"$before_cg"
	local name rc leaks=0
	for name in "$@"; do
		rc=0
		local t0=$SECONDS
		(cd "$work/cwd" && RUNTIME=$wrap TMPDIR=$work/tmp timeout -k 5 "$TIMEOUT" "$suite/bin/$name" \
			>"$out/$name.tap" 2>"$out/$name.err" </dev/null) || rc=$?
		echo "$rc" >"$out/$name.rc"
		echo "$((SECONDS - t0))" >"$out/$name.secs"
		# Per-program leak check, then clean up so one program's leftovers cannot fail the next.
		local id
		for id in $(ls "$state" 2>/dev/null); do
			[[ $id == @init ]] && continue # hull's cached init (runtime/initbin), not a container
			# start's last case creates a container without "process", expects `start` to succeed
			# (the spec says it MUST fail) and gives up, without deleting it, when the container
			# stays "created": that one is the program's leftover. delete --force must remove it.
			if [[ $name == start ]] && "$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1; then
				echo "note: $name left container $id (removed by delete --force)" >>"$out/$name.note"
				continue
			fi
			echo "leak: $name left container $id" >>"$out/$name.leak"
			"$runtime" --root "$state" delete --force "$id" >/dev/null 2>&1 || true
		done
		rm -rf "${state:?}"/*
		local p
		for p in $(stray_pids "$work/"); do
			echo "leak: $name left process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))" >>"$out/$name.leak"
			kill -9 "$p" 2>/dev/null || true
		done
		if grep -qF "$work/" /proc/self/mountinfo; then
			# linux_ns_itype runs a container without a mount namespace: its mounts land in the caller's
			# namespace by design (runc and crun never undo them). Ours is private, so only note them.
			local sink=$out/$name.leak kind=leak
			[[ $name == linux_ns_itype ]] && sink=$out/$name.note kind=note
			grep -F "$work/" /proc/self/mountinfo | sed "s/^/$kind: $name left mount: /" >>"$sink"
			grep -F "$work/" /proc/self/mountinfo | awk '{print $5}' | sort -r |
				while read -r m; do umount -l "$m" 2>/dev/null || true; done
		fi
		cgroup_dirs | sort >"$after_cg"
		# A runtime must remove the container's cgroup on delete; runc and crun leave the parents that
		# mkdir -p made (testdir/cgrouptest of the relative tests, $CGROUP_PARENT): remove those quietly,
		# and only those we saw appear. Under process_api we remove only empty dirs below our own cgroup.
		local d
		for d in $(comm -13 "$before_cg" "$after_cg" | sort -r); do
			if [[ -f $d/tasks && -s $d/tasks ]] || ! [[ $d =~ /testdir$|/testdir/cgrouptest$ || ( -n $CGROUP_PARENT && $d == */"${CGROUP_PARENT#/}" ) ]]; then
				echo "leak: $name left cgroup $d" >>"$out/$name.leak"
				if [[ $d != */process_api/* && -f $d/tasks ]]; then
					for p in $(cat "$d/tasks"); do kill -9 "$p" 2>/dev/null || true; done
				fi
			fi
			rmdir "$d" 2>/dev/null || echo "leak: cgroup $d not removable" >>"$out/$name.leak"
		done
		rm -rf "${work:?}/tmp/"* 2>/dev/null || true
		[[ -f $out/$name.leak ]] && leaks=1
	done
	return 0
}

main() {
	[[ ${1:-} == --inner ]] && { shift; inner "$@"; return; }
	[[ $# -eq 1 ]] || { echo "usage: $0 RUNTIME" >&2; exit 2; }
	[[ $(id -u) == 0 ]] || die "must run as root"
	local runtime
	runtime=$(command -v "$1") || die "runtime $1 not found"
	runtime=$(readlink -f "$runtime")
	[[ -x $runtime ]] || die "runtime $runtime is not executable"
	local base
	base=$(basename "$runtime")
	local expected=${EXPECTED:-}
	if [[ -z $expected ]]; then
		expected=$HERE/expected-failures.txt
		[[ -f $HERE/expected-failures.$base.txt ]] && expected=$HERE/expected-failures.$base.txt
	fi

	local suite
	suite=$(build_suite)
	local programs=()
	if [[ -n ${ONLY:-} ]]; then
		read -r -a programs <<<"$ONLY"
	else
		local f
		for f in "$suite"/bin/*; do programs+=("$(basename "$f")"); done
	fi

	local work
	work=$(mktemp -d /tmp/hullconf.XXXXXX)
	chmod 755 "$work" # bundles must be reachable from inside user namespaces
	echo "conformance: runtime $runtime, runtime-tools $RT_TOOLS_VERSION, ${#programs[@]} programs, work dir $work"
	local start=$SECONDS
	# One private mount namespace for the whole run: crun refuses hybrid cgroups, so cgroup2 at
	# /sys/fs/cgroup/unified is unmounted there, for every runtime alike.
	# The programs use fixed cgroup paths (/cgrouptest): one run at a time on a machine (flock -o: the lock
	# fd does not reach the runtime or the containers).
	CGROUP_PARENT=$CGROUP_PARENT TIMEOUT=$TIMEOUT flock -o -w 900 /run/lock/hull-conformance.lock unshare -m --propagation private -- bash -c '
		if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified
			# crun then writes "unified" cgroup files into the plain directory left behind, which is the
			# host tmpfs: give it a throwaway tmpfs that dies with this namespace.
			mount -t tmpfs -o size=1m,mode=755 hull-scratch /sys/fs/cgroup/unified
		fi
		exec "$@"' _ "$HERE/run.sh" --inner "$suite" "$work" "$runtime" "${programs[@]}"

	# Report.
	# A "~name" line is a race in the program itself: it may pass or fail, and either is fine.
	declare -A allowed=() racy=()
	if [[ -f $expected ]]; then
		local line
		while IFS= read -r line; do
			line=${line%%#*}
			line=${line//[[:space:]]/}
			if [[ $line == "~"* ]]; then
				line=${line#\~}
				racy[$line]=1
			fi
			[[ -n $line ]] && allowed[$line]=1
		done <"$expected"
	fi
	local name passed=0 failed=0 unexpected=() fixed=() leaked=()
	printf '%s\n' "----"
	for name in "${programs[@]}"; do
		local tap=$work/out/$name.tap rc ok notok skip plan verdict note=
		rc=$(cat "$work/out/$name.rc")
		read -r ok notok skip plan < <(tap_counts "$tap")
		# (The *_fail programs print nothing at all when the runtime rightly refuses the config.)
		if [[ $rc == 0 && $notok == 0 && $ok == "$plan" ]]; then
			verdict=pass
			passed=$((passed + 1))
			((skip > 0)) && note=" $skip skipped"
			[[ -n ${allowed[$name]:-} && -z ${racy[$name]:-} ]] && fixed+=("$name")
		else
			verdict=fail
			failed=$((failed + 1))
			((rc == 124 || rc == 137)) && note=" timeout"
			((rc != 0 && rc != 124 && rc != 137)) && note=" exit $rc"
			[[ -z ${allowed[$name]:-} ]] && unexpected+=("$name")
			[[ -n ${allowed[$name]:-} ]] && note+=" (expected)"
		fi
		[[ -f $work/out/$name.leak ]] && leaked+=("$name") && note+=" LEAK"
		printf '%s: %s (%d/%d)%s [%ss]\n' "$name" "$verdict" "$((ok - skip))" "$plan" "$note" "$(cat "$work/out/$name.secs" 2>/dev/null)"
	done
	printf '%s\n' "----"
	local status=0
	if ((${#unexpected[@]})); then
		echo "unexpected failures (not in $(basename "$expected")):"
		for name in "${unexpected[@]}"; do
			echo "  $name"
			{ grep -E '^not ok' "$work/out/$name.tap" || true; } | head -5 | sed 's/^/    /'
			tail -n 3 "$work/out/$name.err" | sed 's/^/    stderr: /' || true
		done
		status=1
	fi
	if ((${#fixed[@]})); then
		echo "note: listed in $(basename "$expected") but passed: ${fixed[*]}"
		status=1
	fi
	# Whole-run leak check, from outside the namespace too.
	cat "$work"/out/*.leak 2>/dev/null || true
	if compgen -G "$work/out/*.note" >/dev/null; then
		local n
		n=$(cat "$work"/out/*.note | grep -c ' left mount: ' || true)
		((n > 0)) && echo "note: $n mounts left in the private namespace by linux_ns_itype (no mount namespace; expected)"
		cat "$work"/out/*.note | grep -v ' left mount: ' || true
	fi
	((${#leaked[@]})) && status=1
	[[ -f $work/out/_final.leak ]] && status=1
	local p
	for p in $(stray_pids "$work/"); do
		echo "leak: process $p still running ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
		status=1
	done
	if grep -qF -e "$work/" -e ocitest /proc/self/mountinfo; then
		echo "leak: host mount table has mounts of this run:"
		grep -F -e "$work/" -e ocitest /proc/self/mountinfo
		status=1
	fi
	echo "time: $((SECONDS - start)) s; TAP output in $work/out"
	if [[ -z ${KEEP:-} && $status == 0 ]]; then
		rm -rf "$work"
	fi
	echo "conformance: $passed passed, $failed failed"
	return $status
}

main "$@"
exit $?
