#!/bin/sh
# Lesson 03: pivot_root vs chroot.
# chroot(2) changes one process's idea of "/"; the host's whole file tree is still there, in the
# same mount namespace, and root can climb out (breakout.c). pivot_root(2) makes the rootfs the
# root of a new mount namespace, and hull then unmounts the old root: there is nothing left to
# climb to. Both runs below use the same static binary, with the same CAP_SYS_CHROOT.
. "$(dirname "$0")/lib.sh"
command -v gcc >/dev/null || { echo "lesson 03 compiles breakout.c: apt-get install gcc"; exit 1; }

say "A secret on the host, outside the container's rootfs"
echo "host secret $$" >"$lab/secret"
show "cat $lab/secret"
bundle "$lab/b" "\"/bin/breakout\", \"/bin/cat\", \"$lab/secret\""
show "gcc -static -O2 -o $lab/b/rootfs/bin/breakout $(dirname "$0")/breakout.c"

say "chroot: the secret is not visible at first..."
show "chroot $lab/b/rootfs /bin/cat $lab/secret || true"
expect "the plain chroot hides the host's path" sh -c "! chroot $lab/b/rootfs /bin/cat $lab/secret 2>/dev/null"
say "...but root climbs out of a chroot (chroot into a subdirectory, then cd .. from outside it)"
show "chroot $lab/b/rootfs /bin/breakout /bin/cat $lab/secret"
expect "the breakout read the host's secret from inside the chroot" \
	sh -c "chroot $lab/b/rootfs /bin/breakout /bin/cat $lab/secret | grep -q 'host secret'"

say "hull: the same binary, as the container's process, with CAP_SYS_CHROOT (in Docker's default set)"
show "cd $lab/b && $HULL run --dry-run lesson03 | grep -E -A2 '^ *[0-9]+ (pivot_root|umount2) '"
show "cd $lab/b && hull run lesson03 >$lab/out.log 2>&1 || echo exit \$?; cat $lab/out.log"
expect "the capability was there: chroot(2) succeeded inside the container" sh -c "! grep -q 'chroot' $lab/out.log"
expect "the climb ended at the container's own root: no host secret" sh -c "! grep -q 'host secret' $lab/out.log"
expect "cat found no such file" grep -q "No such file" "$lab/out.log"

say "Why: in the container's mount namespace, the host's root is mounted nowhere"
bundle "$lab/m" '"cat", "/proc/self/mountinfo"'
hostroot=$(awk '$5 == "/" {print $3 " " $4}' /proc/self/mountinfo)
echo "the host's / is device:root \"$hostroot\" (fields 3 and 4 of /proc/self/mountinfo)"
show "cd $lab/m && hull run lesson03m >$lab/mountinfo && head -3 $lab/mountinfo"
expect "the container's / is the rootfs directory" test "$(awk '$5 == "/" {print $4}' "$lab/mountinfo")" = "$lab/m/rootfs"
expect "no mount in the container shows the host's root" sh -c "! awk '{print \$3 \" \" \$4}' $lab/mountinfo | grep -qx '$hostroot'"
echo
echo "lesson 03: PASS"
