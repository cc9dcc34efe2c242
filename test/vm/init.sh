#!/bin/sh
# /init of the vmtest initramfs (see run.sh). It runs twice: first on the kernel's rootfs, where
# pivot_root(2) is refused ("EINVAL: the current root is on the rootfs"), so it copies itself
# into a tmpfs and switch_roots there; then as the real init, which mounts the pseudo
# filesystems and the cgroup layout asked for, runs the suites and powers off. Everything the
# host parses is a line starting with "HULL-VMTEST".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root

if [ "$1" != stage2 ]; then
	mount -t devtmpfs devtmpfs /dev 2>/dev/null
	exec </dev/console >/dev/console 2>&1
	mount -t tmpfs -o mode=755 tmpfs /newroot
	for d in /*; do
		case $d in /newroot | /dev | /proc | /sys) ;; *) cp -a "$d" /newroot/ ;; esac
	done
	mkdir -p /newroot/dev /newroot/proc /newroot/sys
	umount /dev
	exec switch_root /newroot /init stage2
fi

. /etc/vmtest.conf
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
# securityfs: where AppArmor takes profiles (apparmor_parser) and lists them. The Debian kernel
# enables AppArmor by default (CONFIG_DEFAULT_SECURITY_APPARMOR), so the suites run with it on:
# HULL_TEST_APPARMOR makes the AppArmor tests fail, not skip, should that ever change.
mount -t securityfs securityfs /sys/kernel/security
echo "HULL-VMTEST LSM $(cat /sys/kernel/security/lsm 2>/dev/null); apparmor enabled: $(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)"
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
hostname vmtest
ip link set lo up

case $CGROUP in
v2)
	# Pure v2, as systemd mounts it, with every controller handed down from the root.
	mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
	for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
		echo "+$c" >/sys/fs/cgroup/cgroup.subtree_control || echo "HULL-VMTEST WARN cannot enable $c"
	done
	echo "HULL-VMTEST CGROUP v2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers); enabled: $(cat /sys/fs/cgroup/cgroup.subtree_control)"
	;;
v1)
	# Pure v1: every enabled controller its own hierarchy under a tmpfs, and no cgroup2 at all.
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	for c in $(awk 'NR > 1 && $4 == 1 {print $1}' /proc/cgroups); do
		mkdir /sys/fs/cgroup/"$c"
		mount -t cgroup -o "$c" cgroup /sys/fs/cgroup/"$c" || echo "HULL-VMTEST WARN cannot mount v1 $c"
	done
	echo "HULL-VMTEST CGROUP v1 hierarchies: $(ls /sys/fs/cgroup | tr '\n' ' ')"
	;;
esac
for m in $MODULES; do
	modprobe "$m" || echo "HULL-VMTEST WARN modprobe $m failed"
done

echo "HULL-VMTEST BOOTED $(cut -d' ' -f1 /proc/uptime) kernel $(uname -r)"
# Keep the kernel's own messages off the console the host parses; dmesg is printed on failure.
echo 1 >/proc/sys/kernel/printk

status=0
for s in $SUITES; do
	name=${s%%:*} pkg=${s#*:}
	echo "HULL-VMTEST BEGIN $pkg"
	start=$(cut -d. -f1 /proc/uptime)
	cd /src/"$pkg" || status=1
	set -- -test.v -test.count=1 -test.timeout=12m
	if [ -n "$RUN" ]; then set -- "$@" -test.run "$RUN"; fi
	if [ -n "$SKIP" ]; then set -- "$@" -test.skip "$SKIP"; fi
	HULL_BIN=/bin/hull HULL_PLAIN_BIN=/bin/hull-plain HULL_TEST_HTTPD=/bin/test-httpd HULL_TEST_APPARMOR=1 /t/"$name".test "$@" 2>&1
	rc=$?
	cd /
	echo
	echo "HULL-VMTEST END $pkg exit=$rc seconds=$(($(cut -d. -f1 /proc/uptime) - start))"
	if [ $rc != 0 ]; then
		status=1
		echo "HULL-VMTEST DMESG $pkg"
		dmesg | tail -n 40
	fi
done
echo "HULL-VMTEST RESULT status=$status uptime=$(cut -d' ' -f1 /proc/uptime)"
sync
poweroff -f
