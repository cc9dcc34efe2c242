package runtime

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/initproc"
)

// A container without a mount namespace of its own ("If a namespace type is not specified in the
// namespaces array, the container MUST inherit the runtime namespace of that type") shares the
// host's mount table. Whatever hull mounts for it stays on the host after the init is gone, so
// hull mounts one thing only: a procfs on <rootfs>/proc, when the spec asks for one. The stub
// needs it (it reopens the exec fifo through /proc/self/fd), and so does nearly every program.
// delete, and a failed create, unmount it again (initproc mounts it).

// unmountProcShared runs on the host side (delete, failed create): it removes the procfs that
// mountProcShared made, if the container has no mount namespace and a procfs is mounted there.
func (r *Runtime) unmountProcShared(spec *specs.Spec, rootfs string) error {
	if namespaces.Has(spec.Linux.Namespaces, specs.MountNamespace) || !initproc.SpecMountsProc(spec) || filepath.Clean(rootfs) == "/" {
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
