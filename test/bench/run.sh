#!/usr/bin/env bash
# Benchmarks: hull against runc and crun, in the same run, interleaved (test/bench/interleave: run 1
# of each runtime, then run 2 of each, ...). See README.md beside this file.
#
#   test/bench/run.sh            full run (≈ 2–4 min)
#   QUICK=1 test/bench/run.sh    fewer runs, for CI
#
# Knobs: HULL (default bin/hull), RUNTIMES (default "hull crun runc"), KEEP=1 keeps the work dir,
# BENCH_OUT=FILE appends one JSON line per case and runtime (see bench_out) for docs/benchmarks.md.
# Needs root, go, busybox (static) and jq.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HULL=${HULL:-$REPO/bin/hull}
RUNTIMES=${RUNTIMES:-hull crun runc}
# Within a case the runs are interleaved; the order of the runtimes within each step of the
# interleaving still rotates with the round (BENCH_ROUND, set by `make bench`): each runtime goes
# first in one of 3 rounds.
if [[ -n ${BENCH_ROUND:-} ]]; then
	read -ra _rt <<<"$RUNTIMES"
	_k=$(((BENCH_ROUND - 1) % ${#_rt[@]}))
	RUNTIMES="${_rt[*]:_k} ${_rt[*]:0:_k}"
	RUNTIMES=${RUNTIMES% }
fi
if [[ -n ${QUICK:-} ]]; then
	RUNS_RUN=10 RUNS_LIFE=10 RUNS_STATE=20 WARMUP=2
else
	RUNS_RUN=100 RUNS_LIFE=60 RUNS_STATE=200 WARMUP=5
fi
CG_PARENT=/hullbench

die() { echo "bench: $*" >&2; exit 2; }

runtime_bin() {
	case $1 in
	hull) echo "$HULL" ;;
	*) command -v "$1" || true ;;
	esac
}

# ---------------------------------------------------------------------------------------------------
# Inside a private mount namespace with /sys/fs/cgroup/unified unmounted (crun refuses hybrid cgroups;
# every runtime sees the same cgroup v1 layout there).
inner() {
	local W=$1 RES=$2
	BENCH_W=$W
	trap 'cleanup "$BENCH_W"' EXIT
	mkdir -p "$W/rootfs/bin" "$W/ctr"
	cp "$(command -v busybox)" "$W/rootfs/bin/busybox"
	local t
	for t in true sleep sh; do ln -s busybox "$W/rootfs/bin/$t"; done
	mkdir -p "$W/rootfs/proc" "$W/rootfs/dev" "$W/rootfs/sys" "$W/rootfs/tmp"

	# One config for every runtime: runc's default spec, read-only shared rootfs, absolute cgroupsPath
	# under $CG_PARENT (never under our own cgroup), @ARGS@/@CG@ filled in per container. Ambient
	# capabilities go: runc's default lists them without inheritable ones, which the kernel refuses
	# (runc and crun ignore that; hull rejects it), and they do not matter for speed.
	local spec
	spec=$(cd "$W" && runc spec && cat config.json && rm config.json)
	jq --arg root "$W/rootfs" '.process.terminal = false | .root = {path: $root, readonly: true}
		| .process.args = ["@ARGS@"] | .linux.cgroupsPath = "@CG@"
		| del(.process.capabilities.ambient)' <<<"$spec" >"$W/config.tmpl"

	# next.sh RUNTIME KIND: a fresh container id and bundle config for the next timed run (interleave's
	# PREPARE; not timed). The id goes to $W/ctr/RUNTIME-KIND.id, read by the timed command with the
	# shell builtin `read` so no extra process lands in the measurement.
	cat >"$W/next.sh" <<'EOF'
#!/bin/sh
set -e
W=$(dirname "$0"); r=$1; k=$2
n=$(cat "$W/ctr/$r-$k.n" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" >"$W/ctr/$r-$k.n"
id="$k-$n-${W##*.}"; echo "$id" >"$W/ctr/$r-$k.id"
case $k in run) args='"/bin/true"' ;; *) args='"/bin/sleep", "1000"' ;; esac
mkdir -p "$W/b/$r-$k"
sed -e "s|\"@ARGS@\"|$args|" -e "s|@CG@|/hullbench/$r/$id|" "$W/config.tmpl" >"$W/b/$r-$k/config.json"
EOF
	chmod +x "$W/next.sh"

	# Each runtime's parent cgroup ($CG_PARENT/RUNTIME) exists before the first run, as a
	# manager's parent does on a real host (podman's libpod_parent, Docker's /docker): a runtime
	# that removes the parents it made (hull) would otherwise mkdir and rmdir two extra levels in
	# every controller on every run, while one that leaves them (runc, crun) pays once.
	local d
	for d in /sys/fs/cgroup/*/; do
		[[ $d == */unified/ || ! -e $d/tasks ]] && continue
		for r in $RUNTIMES; do mkdir -p "$d${CG_PARENT#/}/$r"; done
	done

	local avail=() r bin
	for r in $RUNTIMES; do
		bin=$(runtime_bin "$r")
		if [[ -z $bin || ! -x $bin ]]; then
			echo "bench: $r skipped: no binary${bin:+ at $bin}"
			continue
		fi
		mkdir -p "$W/state/$r"
		# Smoke test: a runtime that cannot run /bin/true here is skipped, not benchmarked.
		"$W/next.sh" "$r" run
		local out
		if ! out=$(timeout 20 "$bin" --root "$W/state/$r" run --bundle "$W/b/$r-run" "$(cat "$W/ctr/$r-run.id")" 2>&1); then
			echo "bench: $r skipped: smoke run of /bin/true failed: $(tail -n 3 <<<"$out")"
			"$bin" --root "$W/state/$r" delete --force "$(cat "$W/ctr/$r-run.id")" >/dev/null 2>&1 || true
			continue
		fi
		avail+=("$r")
	done
	((${#avail[@]})) || die "no runtime to benchmark"
	echo "${avail[*]}" >"$RES/runtimes"

	local il=("$W/interleave" -warmup "$WARMUP")

	# (a) run of /bin/true.
	local args=()
	for r in "${avail[@]}"; do
		bin=$(runtime_bin "$r")
		args+=("$r" "$W/next.sh $r run"
			"read -r id <$W/ctr/$r-run.id; exec $bin --root $W/state/$r run --bundle $W/b/$r-run \$id 2>>$RES/$r.err")
	done
	echo "== run /bin/true"
	"${il[@]}" -runs "$RUNS_RUN" -export-json "$RES/run.json" "${args[@]}" || failed "$RES"

	# (b) create → start → kill → delete, four CLI calls; the process (sleep 1000) lives until kill.
	args=()
	for r in "${avail[@]}"; do
		bin=$(runtime_bin "$r")
		local R="$bin --root $W/state/$r"
		args+=("$r" "$W/next.sh $r life"
			"read -r id <$W/ctr/$r-life.id; exec 2>>$RES/$r.err; $R create --bundle $W/b/$r-life \$id && $R start \$id && $R kill \$id KILL && $R delete --force \$id")
	done
	echo "== create, start, kill, delete"
	"${il[@]}" -runs "$RUNS_LIFE" -export-json "$RES/lifecycle.json" "${args[@]}" || failed "$RES"

	# (c) state of a created container; (d) memory of a created container (waiting for start).
	args=()
	local id
	for r in "${avail[@]}"; do
		bin=$(runtime_bin "$r")
		"$W/next.sh" "$r" held
		id=$(cat "$W/ctr/$r-held.id")
		"$bin" --root "$W/state/$r" create --bundle "$W/b/$r-held" "$id" </dev/null >/dev/null 2>&1 ||
			die "$r create for state/memory failed"
		args+=("$r" true "exec $bin --root $W/state/$r state $id")
		memory "$r" "$bin" "$W/state/$r" "$id" >>"$RES/memory.txt"
	done
	echo "== state of a created container"
	"${il[@]}" -runs "$RUNS_STATE" -export-json "$RES/state.json" "${args[@]}" || failed "$RES"
	for r in "${avail[@]}"; do
		bin=$(runtime_bin "$r")
		"$bin" --root "$W/state/$r" delete --force "$(cat "$W/ctr/$r-held.id")" >/dev/null 2>&1 || true
	done
}

# failed prints what the runtimes wrote to stderr during the timed runs, and stops.
failed() {
	local f
	for f in "$1"/*.err; do
		[[ -s $f ]] || continue
		echo "bench: $(basename "$f" .err) stderr (last lines):"
		tail -n 5 "$f" | sed 's/^/    /'
	done
	die "a benchmarked command failed"
}

# memory RUNTIME BIN ROOT ID prints "RUNTIME init_rss_kb init_pss_kb nprocs cg_rss_kb cg_pss_kb": the
# container's init (waiting for start) and every process in its pids cgroup.
memory() {
	local r=$1 bin=$2 root=$3 id=$4 pid
	pid=$("$bin" --root "$root" state "$id" | jq -r .pid)
	local irss ipss
	read -r irss ipss < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' "/proc/$pid/smaps_rollup")
	local n=0 crss=0 cpss=0 p a b
	for p in $(cat "/sys/fs/cgroup/pids$CG_PARENT/$r/$id/cgroup.procs" 2>/dev/null); do
		read -r a b < <(awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} END {print r+0, p+0}' "/proc/$p/smaps_rollup")
		n=$((n + 1)) crss=$((crss + a)) cpss=$((cpss + b))
	done
	echo "$r $irss $ipss $n $crss $cpss"
}

# cleanup deletes every container left in our state dirs and removes our cgroups.
cleanup() {
	local W=$1 r bin id
	for r in $RUNTIMES; do
		[[ -d $W/state/$r ]] || continue
		bin=$(runtime_bin "$r")
		for id in $(ls "$W/state/$r"); do
			[[ $id == @* ]] && continue # hull's cache of its init (no container id has '@')
			echo "bench: leftover $r container $id, deleting"
			"$bin" --root "$W/state/$r" delete --force "$id" >/dev/null 2>&1 || true
		done
	done
	# Container processes still in our cgroups (e.g. a runtime that failed half-way) are ours to end.
	local p=
	for p in $(cat /sys/fs/cgroup/pids"$CG_PARENT"/*/*/cgroup.procs 2>/dev/null); do
		echo "bench: leftover process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)), killing"
		kill -9 "$p" 2>/dev/null || true
	done
	[[ -n $p ]] && sleep 0.2
	local d
	# (/sys/fs/cgroup/unified is a throwaway tmpfs inside our namespace: not a cgroup, dies with it.)
	local tops=()
	for d in /sys/fs/cgroup/*"$CG_PARENT"; do
		[[ -d $d && $d != /sys/fs/cgroup/unified/* ]] && tops+=("$d")
	done
	((${#tops[@]})) || return 0
	for d in $(find "${tops[@]}" -depth -type d 2>/dev/null); do
		rmdir "$d" 2>/dev/null || echo "bench: cannot remove cgroup $d"
	done
}

# ---------------------------------------------------------------------------------------------------
report() {
	local RES=$1 avail
	read -r -a avail <"$RES/runtimes"
	local have_hull=
	[[ " ${avail[*]} " == *" hull "* ]] && have_hull=1
	echo
	printf '%-22s %-6s %20s %14s %10s %10s\n' case runtime "wall mean ± sd (ms)" "user+sys (ms)" hull/crun hull/runc
	local c r
	for c in run lifecycle state; do
		local hmean=
		[[ -n $have_hull ]] && hmean=$(jq -r '.results[] | select(.command == "hull") | .mean' "$RES/$c.json")
		for r in "${avail[@]}"; do
			local mean sd cpu ratio_c=- ratio_r=-
			read -r mean sd cpu < <(jq -r --arg r "$r" '.results[] | select(.command == $r) |
				"\(.mean * 1000) \(.stddev * 1000) \((.user + .system) * 1000)"' "$RES/$c.json")
			if [[ $r == hull ]]; then
				local cm rm
				cm=$(jq -r '.results[] | select(.command == "crun") | .mean' "$RES/$c.json")
				rm=$(jq -r '.results[] | select(.command == "runc") | .mean' "$RES/$c.json")
				[[ -n $cm ]] && ratio_c=$(awk -v a="$hmean" -v b="$cm" 'BEGIN {printf "%.2f", a / b}')
				[[ -n $rm ]] && ratio_r=$(awk -v a="$hmean" -v b="$rm" 'BEGIN {printf "%.2f", a / b}')
			fi
			local label=$c
			case $c in run) label="run /bin/true" ;; lifecycle) label="create+start+kill+del" ;; state) label="state (created)" ;; esac
			printf '%-22s %-6s %20s %14.2f %10s %10s\n' "$label" "$r" \
				"$(awk -v m="$mean" -v s="$sd" 'BEGIN {printf "%.2f ± %.2f", m, s}')" "$cpu" "$ratio_c" "$ratio_r"
		done
	done
	echo
	echo "memory of a created container (waiting for start), kB:"
	printf '%-8s %10s %10s %8s %12s %12s\n' runtime "init RSS" "init PSS" procs "cgroup RSS" "cgroup PSS"
	local irss ipss n crss cpss
	while read -r r irss ipss n crss cpss; do
		printf '%-8s %10s %10s %8s %12s %12s\n' "$r" "$irss" "$ipss" "$n" "$crss" "$cpss"
	done <"$RES/memory.txt"
	echo "(targets: hull init PSS ≤ 300 kB; measured earlier: crun ≈ 320 kB, runc ≈ 1800 kB)"
}

# bench_out RES appends to $BENCH_OUT, for every case and runtime, the wall time of each run in
# ms ("case" run, lifecycle, state), each run's user+sys CPU in ms ("<case> cpu": wait4's rusage of
# the run's shell and all it reaped), and the created container's init PSS in kB ("created pss").
bench_out() {
	local RES=$1 c
	[[ -n ${BENCH_OUT:-} ]] || return 0
	for c in run lifecycle state; do
		jq -c --arg c "$c" '.results[] |
			{area: "runtime", case: $c, tool: .command, unit: "ms", samples: [.times[] * 1000]},
			{area: "runtime", case: ($c + " cpu"), tool: .command, unit: "ms", samples: [.cpu_times[] * 1000]}' \
			"$RES/$c.json" >>"$BENCH_OUT"
	done
	local r irss ipss n crss cpss
	while read -r r irss ipss n crss cpss; do
		jq -cn --arg r "$r" --argjson p "$ipss" \
			'{area: "runtime", case: "created pss", tool: $r, unit: "kB", samples: [$p]}' >>"$BENCH_OUT"
	done <"$RES/memory.txt"
}

main() {
	if [[ ${1:-} == --inner ]]; then
		shift
		inner "$@"
		return
	fi
	[[ $(id -u) == 0 ]] || die "must run as root"
	local t
	for t in go busybox jq runc unshare; do command -v "$t" >/dev/null || die "$t not found"; done
	file -L "$(command -v busybox)" 2>/dev/null | grep -q 'statically linked' || die "busybox must be static (busybox-static)"
	[[ -x $HULL ]] || echo "bench: hull skipped: no binary at $HULL (run make build)"

	local W RES
	W=$(mktemp -d /tmp/hullbench.XXXXXX)
	chmod 755 "$W"
	RES=$(mktemp -d /tmp/hullbench-results.XXXXXX)
	(cd "$REPO" && go build -o "$W/interleave" ./test/bench/interleave) || die "build test/bench/interleave"
	local start=$SECONDS rc=0
	unshare -m --propagation private -- bash -c '
		if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified
			# crun then writes "unified" cgroup files into the plain directory left behind, which is the
			# host tmpfs: give it a throwaway tmpfs that dies with this namespace.
			mount -t tmpfs -o size=1m,mode=755 hull-scratch /sys/fs/cgroup/unified
		fi
		exec "$@"' _ "$HERE/run.sh" --inner "$W" "$RES" || rc=$?

	# Leak check, outside the namespace: processes, mounts and cgroups of this run.
	local p leaks=0
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -qF -- "$W/" ||
			readlink "/proc/$p/root" 2>/dev/null | grep -qF -- "$W/"; then
			echo "bench: leak: process $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null))"
			leaks=1
		fi
	done
	grep -F "$W" /proc/self/mountinfo && { echo "bench: leak: mounts above"; leaks=1; }
	if compgen -G "/sys/fs/cgroup/*$CG_PARENT" >/dev/null; then
		echo "bench: leak: cgroups $(echo /sys/fs/cgroup/*$CG_PARENT)"
		leaks=1
	fi
	if ((rc == 0)); then
		report "$RES"
		bench_out "$RES"
	fi
	echo
	echo "raw results: $RES; total $((SECONDS - start)) s"
	[[ -n ${KEEP:-} ]] || rm -rf "$W"
	((rc == 0 && leaks == 0))
}

main "$@"
exit $?
