package rootfs

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// sys makes the system calls that change the mount table or the filesystem, and
// tells the Recorder about each one.
type sys struct{ rec Recorder }

type nopRecorder struct{}

func (nopRecorder) Step(string, string, error, time.Duration) {}

func newSys(rec Recorder) sys {
	if rec == nil {
		rec = nopRecorder{}
	}
	return sys{rec: rec}
}

// mount calls mount(2) on target (usually a /proc/self/fd/N magic link) and records it
// under shown, the path a person would recognise.
func (s sys) mount(src, target, shown, fstype string, flags uintptr, data string) error {
	return s.mountAs(src, src, target, shown, fstype, flags, data)
}

// mountAs is mount for a source that is itself a magic link, recorded as shownSrc.
func (s sys) mountAs(src, shownSrc, target, shown, fstype string, flags uintptr, data string) error {
	start := time.Now()
	err := unix.Mount(src, target, fstype, flags, data)
	s.rec.Step("mount", mountArgs(shownSrc, shown, fstype, flags, data), err, time.Since(start))
	return err
}

func (s sys) mountSetattr(dirfd int, shown string, attr *unix.MountAttr) error {
	start := time.Now()
	err := unix.MountSetattr(dirfd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
	args := fmt.Sprintf("%s set=%#x clear=%#x recursive", shown, attr.Attr_set, attr.Attr_clr)
	s.rec.Step("mount_setattr", args, err, time.Since(start))
	return err
}

// mknodat creates a device node with exactly mode's permissions: the umask is cleared
// around the call (the init is single-threaded, so nothing else sees it).
func (s sys) mknodat(dirfd int, name, shown string, mode uint32, major, minor int64) error {
	start := time.Now()
	old := unix.Umask(0)
	err := unix.Mknodat(dirfd, name, mode, int(unix.Mkdev(uint32(major), uint32(minor))))
	unix.Umask(old)
	kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p"}[mode&unix.S_IFMT]
	args := fmt.Sprintf("-m %o %s %s %d %d", mode&0o7777, shown, kind, major, minor)
	if kind == "p" {
		args = fmt.Sprintf("-m %o %s p", mode&0o7777, shown)
	}
	s.rec.Step("mknod", args, err, time.Since(start))
	return err
}

func (s sys) fchownat(dirfd int, name, shown string, uid, gid uint32) error {
	start := time.Now()
	err := unix.Fchownat(dirfd, name, int(uid), int(gid), unix.AT_SYMLINK_NOFOLLOW)
	s.rec.Step("chown", fmt.Sprintf("-h %d:%d %s", uid, gid, shown), err, time.Since(start))
	return err
}

func (s sys) symlinkat(target string, dirfd int, name, shown string) error {
	start := time.Now()
	err := unix.Symlinkat(target, dirfd, name)
	s.rec.Step("symlink", fmt.Sprintf("%s %s", target, shown), err, time.Since(start))
	return err
}

func (s sys) unlinkat(dirfd int, name, shown string) error {
	start := time.Now()
	err := unix.Unlinkat(dirfd, name, 0)
	s.rec.Step("unlink", shown, err, time.Since(start))
	return err
}

func (s sys) mkdir(shown string, err error, took time.Duration) {
	s.rec.Step("mkdir", "-p "+shown, err, took)
}

func (s sys) pivotRoot(shown string) error {
	start := time.Now()
	err := unix.PivotRoot(".", ".")
	s.rec.Step("pivot_root", ". . (in "+shown+")", err, time.Since(start))
	return err
}

func (s sys) umount2(target string, flags int) error {
	start := time.Now()
	err := unix.Unmount(target, flags)
	args := target
	if flags&unix.MNT_DETACH != 0 {
		args = "-l " + target
	}
	s.rec.Step("umount2", args, err, time.Since(start))
	return err
}

func (s sys) chroot(path string) error {
	start := time.Now()
	err := unix.Chroot(path)
	s.rec.Step("chroot", path, err, time.Since(start))
	return err
}

func (s sys) chdir(path string) error {
	start := time.Now()
	err := unix.Chdir(path)
	s.rec.Step("chdir", path, err, time.Since(start))
	return err
}

func (s sys) fchdir(fd int, shown string) error {
	start := time.Now()
	err := unix.Fchdir(fd)
	s.rec.Step("chdir", shown, err, time.Since(start))
	return err
}
