package rootfs

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Pivot makes the rootfs the process's "/" and gets rid of the host's root.
//
// pivot_root(2) swaps the root mount of the whole mount namespace, so the old root can
// then be unmounted and is gone: nothing, not even a chroot escape, can reach it. chroot
// only changes one process's idea of "/"; the host's mounts stay in the namespace. So
// chroot is only the fallback (NoPivot) for a host running from the initramfs, where
// pivot_root is refused.
func (p *Plan) Pivot(rec Recorder) error {
	s := newSys(rec)
	if p.NoPivot {
		return moveRoot(s, p.Rootfs)
	}
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(p.Rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", p.Rootfs, err)
	}
	defer unix.Close(newRoot)
	if err := s.fchdir(newRoot, p.Rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", p.Rootfs, err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one, at the same
	// place: no directory for it (like runc's), so a read-only rootfs works too.
	if err := s.pivotRoot(p.Rootfs); err != nil {
		return fmt.Errorf("pivot_root %s: %w", p.Rootfs, err)
	}
	if err := s.fchdir(oldRoot, "(old root)"); err != nil {
		return fmt.Errorf("chdir old root: %w", err)
	}
	// Make the old root's mounts slaves before unmounting them, so the unmount cannot
	// propagate to the host even if rootfsPropagation made them shared. (runc uses
	// rslave, not rprivate: private races with host processes using those mounts.)
	if err := s.mount("", ".", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := s.umount2(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount old root: %w", err)
	}
	if err := s.chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// moveRoot is the NoPivot way: move the rootfs mount over "/" and chroot into it.
func moveRoot(s sys, rootfs string) error {
	if err := s.chdir(rootfs); err != nil {
		return fmt.Errorf("chdir %s: %w", rootfs, err)
	}
	if err := s.mount(rootfs, "/", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", rootfs, err)
	}
	if err := s.chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", rootfs, err)
	}
	if err := s.chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}
