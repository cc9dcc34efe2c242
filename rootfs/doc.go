// Package rootfs builds a container's root filesystem inside its new mount namespace:
// a pure plan of mounts from the OCI spec, then the system calls that apply it.
//
// # What the kernel offers
//
// mount(2) attaches a filesystem (tmpfs, proc, sysfs, devpts, mqueue, cgroup2, ...) or,
// with MS_BIND, an existing directory or file at a path. A bind ignores flags such as
// MS_RDONLY, so a read-only bind is two calls: the bind, then MS_REMOUNT|MS_BIND|MS_RDONLY.
// mount_namespaces(7): after clone(CLONE_NEWNS) a process has its own copy of the mount
// table, but mounts that were shared stay peers of the host's, so mounting inside would
// show up outside. Propagation (MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE, with
// MS_REC for a whole tree) is changed by a mount(2) call of its own, carrying no other
// flag; see the kernel's Documentation/filesystems/sharedsubtree.rst.
//
// pivot_root(2) swaps the root mount of the whole namespace; the old root can then be
// unmounted (umount2 with MNT_DETACH), and nothing in the container can reach the host's
// files again. chroot(2) only changes one process's idea of "/": the host's mounts are
// still in the namespace and a process with CAP_SYS_CHROOT can climb back out. So
// pivot_root is the default and chroot (after moving the rootfs onto "/" with MS_MOVE)
// only the fallback for a host running from the initramfs, where pivot_root is refused.
//
// The bundle is untrusted: a symlink in the rootfs must never make the runtime mount over
// a host path (CVE-2021-30465). openat2(2) with RESOLVE_IN_ROOT resolves a path as if the
// rootfs were "/": "..", and symlinks, absolute or not, stop at the root. Mounting onto
// /proc/self/fd/N of the file so opened (after statfs(2) proved /proc is procfs, magic
// PROC_SUPER_MAGIC) means the target cannot be swapped between the check and the mount.
//
// # How hull uses it
//
// NewPlan reads spec.Mounts, root.readonly and linux.{devices, maskedPaths, readonlyPaths,
// rootfsPropagation} into a Plan without touching the system, so unit tests can inspect
// every step. The container's init, already in its new namespaces, then calls:
//
//   - Mount: make "/" rslave (rprivate if rootfsPropagation is private or unbindable), as
//     runc does, so nothing propagates back to the host; bind the rootfs onto itself
//     (pivot_root needs a mount point); mount spec.Mounts: "The runtime MUST mount entries
//     in the listed order." Destinations are resolved inside the rootfs with openat2(2)
//     RESOLVE_IN_ROOT (filepath-securejoin's pathrs-lite emulates it on kernels without),
//     checked with one readlink of /proc/self/fd/N once /proc is known to be a procfs, and
//     created (a directory, or a file for a bind of a file) if missing; proc and sysfs must
//     land on a real directory, never through a symlink. Then the default devices ("In
//     addition to any devices configured with this setting, the runtime MUST also supply"
//     null, zero, full, random, urandom, tty, ptmx) and linux.devices with mknod(2), or bind
//     mounts of the host's nodes in a user namespace ("If a file already exists at path
//     that does not match the requested device, the runtime MUST generate an error"), and
//     the /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx symlinks. A "cgroup" mount
//     is, on a v2 host, a fresh cgroup2 in a cgroup namespace and otherwise a bind of our own
//     cgroup's directory (a fresh mount from the host's cgroup namespace would reset the
//     host's cgroup2 options, nsdelegate among them); on v1 a tmpfs with a read-only bind of
//     each hierarchy's directory of our own cgroup (fresh mounts in a cgroup namespace).
//     A tmpfs with runc's tmpcopyup option (podman's --tmpfs and --read-only) is filled
//     with a copy of the directory it covers, read through a descriptor opened before the
//     mount, and takes that directory's mode unless its options set mode=.
//   - (the runtime runs the createContainer hooks here)
//   - Pivot: pivot_root(".", "."), make the old root rslave and detach it; or, with
//     NoPivot, MS_MOVE the rootfs onto "/" and chroot.
//   - Finish: readonlyPaths (bind onto itself, remount read-only repeating the flags
//     statfs reports, since a user namespace may not drop a locked nosuid, nodev or
//     noexec), maskedPaths (/dev/null over a file, an empty read-only tmpfs over a
//     directory; missing paths are skipped), root.readonly ("If true then the root
//     filesystem MUST be read-only inside the container") and, last, rootfsPropagation
//     on the new "/".
//
// Each system call is reported to a Recorder as a line reading like the command that does
// the same ("mount -t tmpfs tmpfs /run/hull/x/rootfs/dev -o nosuid,mode=755"), which is
// what hull --debug prints. Errors say which mount failed and keep the errno:
// "mount proc on /proc: device or resource busy". There is nothing to roll back: a failed
// init exits, and its mount namespace, with every mount made here, goes with it.
//
// # Try it by hand
//
// As root, next to a directory rootfs/ holding a static busybox in rootfs/bin:
//
//	unshare -m sh -c 'mount --make-rprivate / && mount --bind rootfs rootfs && mount -t proc proc rootfs/proc && cd rootfs && pivot_root . . && /bin/busybox umount -l . && exec /bin/busybox sh'
//
// # Not covered
//
// Idmapped mounts (the idmap and ridmap options are refused), SELinux mount
// labels (linux.mountLabel), /dev/console (the runtime's terminal code binds the pty
// there), and runc's unmounting of host mounts before the NoPivot chroot. Images and their
// overlay roots are package rootfs/image. The recursive options (rro, rnosuid, ...) use mount_setattr(2);
// nothing else uses the new mount API (fsopen, open_tree, move_mount).
//
// Next stop: package rootfs/image, where a root filesystem comes from an image.
package rootfs
