#!/usr/bin/env bash
# make vmtest: run hull's root test suites inside a qemu VM whose cgroups are pure v2 (or, with
# CGROUP=v1, pure v1), since the machines hull is developed on are hybrid.
#
# The VM is a Debian cloud kernel booting a throw-away initramfs: busybox-static, bin/hull, the
# compiled integration test binaries and a few kernel modules. Its /init (test/vm/init.sh)
# mounts the cgroup filesystems, runs each suite and prints its results to the serial console
# between markers; this script parses them and exits with the suites' status.
#
# Environment:
#   CGROUP=v2|v1     cgroup layout inside the VM (default v2)
#   SUITES="..."     packages to run, in order (default: cgroups test rootfs netns runtime/stub)
#   RUN=regexp       passed to every suite as -test.run
#   SKIP=regexp      passed to every suite as -test.skip
#   KVM=1            try -accel kvm first, falling back to TCG if the VM shows no sign of life
#   TIMEOUT=900      seconds before the VM is killed, whatever it is doing
#   KEEP=1           keep the work dir (initramfs, serial log) and print where it is
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$here/.cache
CGROUP=${CGROUP:-v2}
SUITES=${SUITES:-cgroups test rootfs netns runtime/stub}
RUN=${RUN:-}
# Left to the host lane: the lessons (lesson 03 compiles its breakout with gcc, which the VM
# lacks), and 50 concurrent creates, which under TCG's ~10x slower CPU outlast the test's
# per-command 60 s limit; neither depends on the cgroup layout the VM lane is for.
SKIP=${SKIP:-TestLessons|TestNetworkConcurrentCreates}
TIMEOUT=${TIMEOUT:-900}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-120} # seconds until the init must have said hello
MODULES="overlay veth bridge nf_tables nft_chain_nat nft_masq nft_nat nft_ct nft_fib_inet nft_numgen nf_nat nf_conntrack nf_conntrack_netlink"  # loaded at boot (netns needs the nftables and conntrack ones; fib and numgen for published ports)
HOST_TOOLS="ls prlimit unshare nsenter ip nft docker-registry apparmor_parser"  # copied from the host over busybox's applets
GO=${GO:-go}

case $CGROUP in v1 | v2) ;; *)
	echo "CGROUP must be v1 or v2, not $CGROUP" >&2
	exit 2
	;;
esac
[ "$(id -u)" = 0 ] || {
	echo "vmtest needs root (apt-get, and the suites inside expect to be root)" >&2
	exit 2
}
[ -x "$repo/bin/hull" ] || {
	echo "no $repo/bin/hull: run make build first" >&2
	exit 2
}

t0=$(date +%s)
say() { printf 'vmtest [%3ds] %s\n' $(($(date +%s) - t0)) "$*"; }

# --- tools -------------------------------------------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 && ! ldd /bin/busybox >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v depmod >/dev/null || need+=(kmod)
command -v prlimit >/dev/null && command -v unshare >/dev/null || need+=(util-linux)
command -v apparmor_parser >/dev/null || need+=(apparmor)
if [ ${#need[@]} -gt 0 ]; then
	say "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- kernel ------------------------------------------------------------------------------------
# linux-image-cloud-amd64 is a metapackage; its one dependency is the versioned image.
mkdir -p "$cache"
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kpkg" ]; then
	apt-get update -qq
	kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$kpkg" ] || {
	echo "cannot find the package behind linux-image-cloud-amd64" >&2
	exit 2
}
deb=$(ls "$cache/${kpkg}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
	say "downloading $kpkg"
	(cd "$cache" && apt-get download -qq "$kpkg" 2>&1 | grep -v 'unsandboxed' || true)
	deb=$(ls "$cache/${kpkg}"_*.deb | head -1)
fi
kver=${kpkg#linux-image-}
kdir=$cache/$kver
if [ ! -f "$kdir/boot/vmlinuz-$kver" ]; then
	rm -rf "$kdir"
	dpkg-deb -x "$deb" "$kdir.tmp"
	depmod -b "$kdir.tmp" "$kver" # the package leaves modules.dep to its postinst
	mv "$kdir.tmp" "$kdir"
fi

# --- work dir ----------------------------------------------------------------------------------
work=$(mktemp -d /tmp/hull-vmtest.XXXXXX)
qpid=
tailpid=
cleanup() {
	[ -n "$tailpid" ] && kill "$tailpid" 2>/dev/null || true
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then echo "vmtest: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,newroot,t,src,lib/modules}

# --- test binaries -----------------------------------------------------------------------------
# Static (no cgo), so the initramfs needs no libc. Each runs in a copy of its package dir (its
# testdata, stub.stamp, csrc/...), as go test would.
suites=()
for pkg in $SUITES; do
	name=${pkg//\//-}
	say "go test -c ./$pkg"
	(cd "$repo" && CGO_ENABLED=0 $GO test -c -tags integration -o "$root/t/$name.test" "./$pkg/")
	mkdir -p "$root/src/$pkg"
	find "$repo/$pkg" -maxdepth 1 -type f ! -name '*.go' -exec cp {} "$root/src/$pkg/" \;
	for d in testdata csrc relay; do
		if [ -d "$repo/$pkg/$d" ]; then cp -a "$repo/$pkg/$d" "$root/src/$pkg/"; fi
	done
	suites+=("$name:$pkg")
done

# --- userland ----------------------------------------------------------------------------------
cp /bin/busybox "$root/bin/busybox"
/bin/busybox --list-full | while read -r a; do
	[ "$a" = bin/busybox ] || ln -sf /bin/busybox "$root/$a"
done
mknod -m 600 "$root/dev/console" c 5 1
# The host tools the suites call that busybox lacks or does differently (util-linux's prlimit
# and unshare --kill-child; GNU ls, which the stub test lists fds with; apparmor_parser, which
# loads the AppArmor test's profiles), with their libraries.
for tool in $HOST_TOOLS; do
	p=$(command -v "$tool") || {
		echo "vmtest: no $tool on the host" >&2
		exit 2
	}
	p=$(readlink -f "$p")
	for d in bin sbin usr/bin usr/sbin; do # busybox's applets live in all four
		rm -f "$root/$d/$tool"
	done
	cp "$p" "$root/usr/bin/$tool"
	ln -s /usr/bin/"$tool" "$root/bin/$tool"
	ldd "$p" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
	done
done
cp /etc/ld.so.cache "$root/etc/" 2>/dev/null || true
cp "$repo/bin/hull" "$root/bin/hull" # make build: with the embedded init (runtime/initbin)
# TestInitFallback's hull without it, as a plain go build makes it.
(cd "$repo" && CGO_ENABLED=0 $GO build -o "$root/bin/hull-plain" ./cmd/hull)
# The supervisor suites' service: built here, since the VM has no Go toolchain.
(cd "$repo/test" && CGO_ENABLED=0 $GO build -o "$root/bin/test-httpd" ./images/httpd)
cp "$here/init.sh" "$root/init"
chmod 755 "$root/init"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$root/etc/group"
cat >"$root/etc/vmtest.conf" <<EOF
CGROUP=$CGROUP
SUITES="${suites[*]}"
RUN='$RUN'
SKIP='$SKIP'
MODULES="$MODULES"
EOF

# --- kernel modules ----------------------------------------------------------------------------
# Only the modules named, with what they depend on, and a modules.dep for busybox modprobe.
mods=$kdir/lib/modules/$kver
mkdir -p "$root/lib/modules/$kver"
cp "$mods"/modules.order "$mods"/modules.builtin* "$root/lib/modules/$kver/" 2>/dev/null || true
for m in $MODULES; do
	modprobe -d "$kdir" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
done | sort -u | while read -r f; do
	rel=${f#"$kdir"}
	mkdir -p "$root$(dirname "$rel")"
	cp "$f" "$root$rel"
done
depmod -b "$root" "$kver"

# --- initramfs ---------------------------------------------------------------------------------
# Uncompressed: decompressing under TCG costs more than qemu loading the bigger file.
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet) >"$work/initrd"
say "initramfs $(du -m "$work/initrd" | cut -f1) MB, kernel $kver, cgroup $CGROUP, suites: ${SUITES}"

# --- boot --------------------------------------------------------------------------------------
log=$work/serial.log
# boot ACCEL: start qemu in the background; returns once the init has said hello (0) or not (1).
boot() {
	local accel=$1 cpu=max
	[ "$accel" = kvm ] && cpu=${KVM_CPU:-host}
	: >"$log"
	timeout --signal=KILL "$TIMEOUT" qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" \
		-m 2048 -smp 2 -nographic -no-reboot -nic none \
		-kernel "$kdir/boot/vmlinuz-$kver" -initrd "$work/initrd" \
		-append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init" \
		</dev/null >"$log" 2>&1 &
	qpid=$!
	local start=$SECONDS
	while [ $((SECONDS - start)) -lt "$BOOT_TIMEOUT" ]; do
		if grep -q '^HULL-VMTEST BOOTED' "$log"; then
			say "booted with $accel in $(grep -a '^HULL-VMTEST BOOTED' "$log" | tr -d '\r' | awk '{print $3}') s of guest uptime ($((SECONDS - start)) s wall)"
			return 0
		fi
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.5
	done
	kill "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	qpid=
	return 1
}
booted=
if [ "${KVM:-}" = 1 ] && [ -w /dev/kvm ]; then
	if BOOT_TIMEOUT=${KVM_BOOT_TIMEOUT:-30} boot kvm; then
		booted=kvm
	else
		say "no sign of life under KVM: falling back to TCG; qemu said:"
		tail -n 3 "$log" | tr -d '\r' | sed 's/^/  kvm| /'
	fi
fi
if [ -z "$booted" ]; then
	boot tcg && booted=tcg
fi
if [ -z "$booted" ]; then
	echo "vmtest: the VM did not boot within $BOOT_TIMEOUT s; serial log:" >&2
	tail -n 60 "$log" >&2
	exit 1
fi

# Show progress: suite boundaries and failures, as they happen.
# tail --pid ends with qemu, so the whole pipeline ends by itself.
tail -n +1 -F --pid="$qpid" "$log" 2>/dev/null | tr -d '\r' |
	grep --line-buffered -aE '^(HULL-VMTEST (BEGIN|END|WARN)|--- FAIL)' | sed -u 's/^/  vm| /' &
tailpid=$!
wait "$qpid" || true
qpid=
wait "$tailpid" || true
tailpid=

# --- results -----------------------------------------------------------------------------------
tr -d '\r' <"$log" >"$work/clean.log"
if [ -n "${VMTEST_LOG:-}" ]; then cp "$work/clean.log" "$VMTEST_LOG"; fi
status=$(awk '/^HULL-VMTEST RESULT/ {for (i = 1; i <= NF; i++) if ($i ~ /^status=/) {sub("status=", "", $i); print $i}}' "$work/clean.log" | tail -1)
echo
echo "vmtest: cgroup $CGROUP under $booted, $(($(date +%s) - t0)) s in all"
awk '/^HULL-VMTEST END/ {print "  " $0}' "$work/clean.log"
# Every test and subtest counts once, as go test -v reports them.
echo "vmtest: $(grep -ac -- '--- PASS' "$work/clean.log") passed, $(grep -ac -- '--- FAIL' "$work/clean.log") failed, $(grep -ac -- '--- SKIP' "$work/clean.log") skipped"
if [ -z "$status" ]; then
	echo "vmtest: the VM stopped without a result (timeout ${TIMEOUT}s, crash or panic); last lines:" >&2
	tail -n 80 "$work/clean.log" >&2
	exit 1
fi
if [ "$status" != 0 ]; then
	echo "vmtest: FAILED; each failing test's output, then the end of the log:" >&2
	# From a failing test's "=== RUN" to its "--- FAIL": what it logged, its t.Fatal included.
	awk '/^--- FAIL: / {print $3}' "$work/clean.log" | sort -u | while read -r name; do
		awk -v n="$name" '$0 == "=== RUN   " n {on = 1} on {print "  | " $0} on && index($0, "--- FAIL: " n " (") == 1 {on = 0}' \
			"$work/clean.log" | tail -n 150 >&2
	done
	tail -n 60 "$work/clean.log" >&2
	exit 1
fi
echo "vmtest: PASS"
