package rootfs

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// Finish runs after Pivot, inside the new root: read-only paths, masked paths, the
// read-only root and rootfs propagation. These come last because they cover up what the
// steps before (and the createContainer hooks) needed to write to.
func (p *Plan) Finish(rec Recorder) error {
	s := newSys(rec)
	if p.hasProc() {
		// Many masked and read-only paths are in /proc, and the runtime writes
		// there next (sysctls, LSM labels): it must be the procfs we mounted.
		if err := CheckProcfs("/proc"); err != nil {
			return err
		}
	}
	r, err := openRoot("/")
	if err != nil {
		return fmt.Errorf("open new root: %w", err)
	}
	defer r.close()
	for _, path := range p.ReadonlyPaths {
		if err := readonlyPath(s, r, path); err != nil {
			return fmt.Errorf("readonly path %s: %w", path, err)
		}
	}
	for _, path := range p.MaskedPaths {
		if err := maskPath(s, r, path); err != nil {
			return fmt.Errorf("mask path %s: %w", path, err)
		}
	}
	if p.ReadonlyRoot {
		// "If true then the root filesystem MUST be read-only inside the container."
		if err := remountBind(s, r, "/", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keepFlags(r), 0); err != nil {
			return fmt.Errorf("remount / read-only: %w", err)
		}
	}
	if p.FinalPropagation != 0 {
		if err := s.mount("", "/", "/", "", p.FinalPropagation, ""); err != nil {
			return fmt.Errorf("make / %s: %w", propagationName(p.FinalPropagation), err)
		}
	}
	return nil
}

// keepFlags are the flags "/" already has, which a remount would otherwise drop.
func keepFlags(r *root) uintptr {
	flags, err := mountFlags(r.dir)
	if err != nil {
		return 0
	}
	return flags &^ unix.MS_RDONLY
}

// readonlyPath binds path onto itself and remounts that bind read-only, repeating the
// flags the mount already has: a remount that leaves out a locked nosuid, nodev or noexec
// fails with EPERM in a user namespace. A missing path is skipped.
func readonlyPath(s sys, r *root, path string) error {
	f, err := r.open(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	target := r.target(f, path)
	if err := s.mountAs(target, r.host(path), target, r.host(path), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	g, err := r.open(path, false)
	if err != nil {
		return err
	}
	defer g.Close()
	have, err := mountFlags(g)
	if err != nil {
		return err
	}
	return s.mount("", r.target(g, path), r.host(path), "", have|unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
}

// maskPath hides path: /dev/null is bound over a file, an empty read-only tmpfs is
// mounted over a directory. A missing path is skipped.
func maskPath(s sys, r *root, path string) error {
	f, err := r.open(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return s.mount("tmpfs", r.target(f, path), r.host(path), "tmpfs", unix.MS_RDONLY, "")
	}
	return s.mount("/dev/null", r.target(f, path), r.host(path), "", unix.MS_BIND, "")
}
