package runtime

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/namespaces"
)

// A container without a mount namespace of its own ("If a namespace type is not specified in the
// namespaces array, the container MUST inherit the runtime namespace of that type") shares the
// host's mount table. Whatever hull mounts for it stays on the host after the init is gone, so
// hull mounts one thing only: a procfs on <rootfs>/proc, when the spec asks for one. The stub
// needs it (it reopens the exec fifo through /proc/self/fd), and so does nearly every program.
// delete, and a failed create, unmount it again.

// mountProcShared runs in the init, before chroot(2): it mounts a new procfs (of the container's
// pid namespace) on <rootfs>/proc, in the host's mount namespace.
func (in *initProc) mountProcShared() error {
	if !specMountsProc(in.b.Spec) {
		return nil
	}
	if filepath.Clean(in.b.Rootfs) == "/" {
		return fmt.Errorf("root.path is the host's /: mounting /proc would cover the host's")
	}
	dir, err := unix.Open(in.b.Rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(dir)
	// The rootfs is untrusted: a symlink at <rootfs>/proc must not move the mount onto the host.
	fd, err := unix.Openat2(dir, "proc", &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return fmt.Errorf("mount proc on %s: %w", filepath.Join(in.b.Rootfs, "proc"), err)
	}
	defer unix.Close(fd)
	target := fmt.Sprintf("/proc/self/fd/%d", fd)
	err = in.rec.step("mount", fmt.Sprintf("proc on %s/proc (host mount namespace) nosuid,nodev,noexec", in.b.Rootfs), func() error {
		return unix.Mount("proc", target, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	})
	if err != nil {
		return fmt.Errorf("mount proc on %s: %w", filepath.Join(in.b.Rootfs, "proc"), err)
	}
	return nil
}

// unmountProcShared runs on the host side (delete, failed create): it removes the procfs that
// mountProcShared made, if the container has no mount namespace and a procfs is mounted there.
func (r *Runtime) unmountProcShared(spec *specs.Spec, rootfs string) error {
	if namespaces.Has(spec.Linux.Namespaces, specs.MountNamespace) || !specMountsProc(spec) || filepath.Clean(rootfs) == "/" {
		return nil
	}
	target := filepath.Join(rootfs, "proc")
	var st unix.Statfs_t
	if err := unix.Statfs(target, &st); err != nil || st.Type != unix.PROC_SUPER_MAGIC {
		return nil // not mounted (the init failed before), or not ours to touch
	}
	// UMOUNT_NOFOLLOW: if <rootfs>/proc became a symlink meanwhile, it is not followed.
	err := r.step("umount2", target+" MNT_DETACH|UMOUNT_NOFOLLOW", func() error {
		return unix.Unmount(target, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
	})
	if err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// specMountsProc reports whether the spec mounts a procfs at /proc.
func specMountsProc(s *specs.Spec) bool {
	for _, m := range s.Mounts {
		if m.Type == "proc" && filepath.Clean(m.Destination) == "/proc" {
			return true
		}
	}
	return false
}
