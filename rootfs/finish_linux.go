package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Finish runs after Pivot, inside the new root: read-only paths, masked paths, the
// read-only root and rootfs propagation. These come last because they cover up what the
// steps before (and the createContainer hooks) needed to write to.
func (p *Plan) Finish(rec Recorder) error {
	s := newSys(rec)
	if err := p.cover(s, "/"); err != nil {
		return err
	}
	return p.propagate(s)
}

// FinishBeforePivot does what Finish does but rootfs propagation, on the rootfs where it lies,
// before Pivot; Propagate does the rest after it. It is for a caller outside the container's
// pid namespace (a thread of hull that joined its mount namespace): once pivoted, the only
// /proc it sees is the container's, where /proc/self/fd, through which every mount target is
// named, is not its own. Masked and read-only paths resolve inside the root alike from either
// side, and pivot_root(2) does not mind a read-only new root.
func (p *Plan) FinishBeforePivot(rec Recorder) error {
	return p.cover(newSys(rec), p.Rootfs)
}

// Propagate applies rootfsPropagation to the new "/": the last step, after Pivot.
func (p *Plan) Propagate(rec Recorder) error { return p.propagate(newSys(rec)) }

// cover makes the read-only and masked paths and the read-only root of the root at dir ("/"
// once pivoted, p.Rootfs before).
func (p *Plan) cover(s sys, dir string) error {
	if p.hasProc() {
		// Many masked and read-only paths are in /proc, and the runtime writes
		// there next (sysctls, LSM labels): it must be the procfs we mounted.
		if err := CheckProcfs(filepath.Join(dir, "proc")); err != nil {
			return err
		}
	}
	r, err := openRoot(dir)
	if err != nil {
		return fmt.Errorf("open new root: %w", err)
	}
	defer r.close()
	for _, path := range p.ReadonlyPaths {
		if err := readonlyPath(s, r, path); err != nil {
			return fmt.Errorf("readonly path %s: %w", path, err)
		}
	}
	if len(p.MaskedPaths) > 0 {
		null := containerNull(r)
		if null != nil {
			defer null.Close()
		}
		for _, path := range p.MaskedPaths {
			if err := maskPath(s, r, null, path); err != nil {
				return fmt.Errorf("mask path %s: %w", path, err)
			}
		}
	}
	if p.ReadonlyRoot {
		// "If true then the root filesystem MUST be read-only inside the container."
		if err := remountBind(s, r, "/", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keepFlags(r), 0); err != nil {
			return fmt.Errorf("remount / read-only: %w", err)
		}
	}
	return nil
}

func (p *Plan) propagate(s sys) error {
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

// containerNull opens the container's /dev/null, if it is the null device: masked files are
// covered with it, as they would be from inside, also when the root is not entered yet (whose
// "/dev/null" is the host's, on the host's devtmpfs, which the container's mount table would
// then show). nil: the host's is used.
func containerNull(r *root) *handle {
	f, err := r.open("/dev/null", true)
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		f.Close()
		return nil
	}
	return f
}

// maskPath hides path: /dev/null (null, if not nil, else the host's) is bound over a file, an
// empty read-only tmpfs is mounted over a directory. A missing path is skipped.
func maskPath(s sys, r *root, null *handle, path string) error {
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
	if null == nil {
		return s.mount("/dev/null", r.target(f, path), r.host(path), "", unix.MS_BIND, "")
	}
	return s.mountAs(r.target(null, "/dev/null"), "/dev/null", r.target(f, path), r.host(path), "", unix.MS_BIND, "")
}

// MakeDir creates directory dst inside the unpivoted rootfs, with its missing parents, every
// component resolved inside the root: process.cwd, which runc creates too, for a caller that
// finishes before Pivot (a read-only root is in the way after).
func (p *Plan) MakeDir(rec Recorder, dst string) error {
	r, err := openRoot(p.Rootfs)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer r.close()
	f, err := r.mkdirAll(newSys(rec), dst, false)
	if err != nil {
		return err
	}
	return f.Close()
}
