package initproc

import (
	"fmt"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A container without a mount namespace of its own shares the host's mount table, so the init
// mounts one thing only there: a procfs on <rootfs>/proc, when the spec asks for one (runtime's
// nomountns.go says why, and removes it again).

// mountProcShared runs in the init, before chroot(2): it mounts a new procfs (of the container's
// pid namespace) on <rootfs>/proc, in the host's mount namespace.
func (in *initProc) mountProcShared() error {
	if !SpecMountsProc(in.b.Spec) {
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

// SpecMountsProc reports whether the spec mounts a procfs at /proc.
func SpecMountsProc(s *specs.Spec) bool {
	for _, m := range s.Mounts {
		if m.Type == "proc" && filepath.Clean(m.Destination) == "/proc" {
			return true
		}
	}
	return false
}
