package rootfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// root resolves container paths inside the rootfs the way the kernel's
// openat2(RESOLVE_IN_ROOT) does: "..", and symlinks, absolute or not, stop at the root.
// Mounts then go onto the opened file through its /proc/self/fd/N magic link, so the
// path cannot be swapped for a symlink between the check and the mount (CVE-2021-30465).
type root struct {
	dir  *handle // O_PATH handle on the root directory
	path string  // where dir really is, as this process sees it
	fdOK bool    // /proc is a real procfs, so /proc/self/fd/N names a file safely
}

func openRoot(path string) (*root, error) {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	dir := newHandle(fd, path)
	r := &root{dir: dir, fdOK: CheckProcfs("/proc") == nil}
	if r.path, err = r.name(dir); err != nil {
		_ = dir.Close()
		return nil, fmt.Errorf("readlink %s: %w", path, err)
	}
	return r, nil
}

// name is the path of an open file as this process sees it. With a verified procfs at
// /proc, readlink of /proc/self/fd/N says it; otherwise pathrs-lite's private procfs does.
func (r *root) name(h *handle) (string, error) {
	if r.fdOK {
		return os.Readlink(fmt.Sprintf("/proc/self/fd/%d", h.fd))
	}
	f, err := h.file()
	if err != nil {
		return "", err
	}
	defer f.Close()
	return procfs.ProcSelfFdReadlink(f)
}

func (r *root) close() { _ = r.dir.Close() }

// host is dst as a path in this process's view, for records and messages.
func (r *root) host(dst string) string { return filepath.Join(r.path, dst) }

// target names an opened file for mount(2).
func (r *root) target(f *handle, dst string) string {
	if r.fdOK {
		return "/proc/self/fd/" + strconv.Itoa(f.fd)
	}
	return r.host(dst) // after pivot_root without a /proc: "/" is the container's root
}

// open resolves dst inside the root. With exact, no symlink may take part in the lookup.
func (r *root) open(dst string, exact bool) (*handle, error) {
	f, byKernel, err := r.resolve(dst, exact)
	if err != nil || byKernel {
		return f, err // openat2 kept the lookup in the root, and off symlinks when exact
	}
	// pathrs-lite's emulation: check where it landed, by name.
	got, err := r.name(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("readlink %s: %w", dst, err)
	}
	if !within(got, r.path) {
		_ = f.Close()
		return nil, fmt.Errorf("%s resolves to %s, outside the rootfs: %w", dst, got, ErrUnsafePath)
	}
	if exact && got != r.host(dst) {
		_ = f.Close()
		return nil, fmt.Errorf("%s resolves to %s through a symlink: %w", dst, strings.TrimPrefix(got, r.path), ErrUnsafePath)
	}
	return f, nil
}

// resolve opens dst as openat2(RESOLVE_IN_ROOT) does, with RESOLVE_NO_SYMLINKS too when
// exact. The kernel's answer (byKernel) needs no second check: a readlink of each result cost
// the init ≈0.3 ms per container. Without openat2 (before Linux 5.6) pathrs-lite emulates
// RESOLVE_IN_ROOT, and open checks its answer.
func (r *root) resolve(dst string, exact bool) (f *handle, byKernel bool, err error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS}
	if exact {
		how.Resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	for range 16 {
		fd, err := openat2(r.dir.fd, dst, how)
		switch {
		case err == nil:
			return newHandle(fd, r.host(dst)), true, nil
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
			continue // a rename or mount raced the lookup: the kernel asks to retry
		case errors.Is(err, unix.ENOSYS):
			f, err := r.openEmulated(dst)
			return f, false, err
		case exact && errors.Is(err, unix.ELOOP):
			return nil, false, fmt.Errorf("%s: a symlink takes part in its lookup: %w", dst, ErrUnsafePath)
		default:
			return nil, false, &os.PathError{Op: "openat2", Path: dst, Err: err}
		}
	}
	return nil, false, &os.PathError{Op: "openat2", Path: dst, Err: unix.EAGAIN}
}

// openEmulated is resolve without openat2: pathrs-lite's emulation of RESOLVE_IN_ROOT.
func (r *root) openEmulated(dst string) (*handle, error) {
	dir, err := r.dir.file()
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	f, err := pathrs.OpenatInRoot(dir, dst)
	if err != nil {
		return nil, err
	}
	return handleOf(f)
}

// openat2 is unix.Openat2; the tests take it away to drive the emulation.
var openat2 = unix.Openat2

// mkdirAll opens directory dst, creating it and its parents inside the root if missing.
func (r *root) mkdirAll(s sys, dst string, exact bool) (*handle, error) {
	f, err := r.open(dst, exact)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	start := time.Now()
	f, byKernel, err := r.mkdirIn(filepath.Clean("/" + dst))
	s.mkdir(r.host(dst), err, time.Since(start))
	if err != nil {
		// A dangling symlink on the way ends here too (ENOTDIR): we do not create
		// the directory it points at.
		return nil, fmt.Errorf("create %s in rootfs: %w", dst, err)
	}
	if byKernel && !exact {
		// What open would answer: its parent resolved in the root by openat2, the new
		// name opened without following a symlink. (≈10 µs a directory; a container
		// makes a dozen: /dev/pts, /dev/shm, one per cgroup v1 hierarchy.)
		return f, nil
	}
	_ = f.Close()
	return r.open(dst, exact)
}

// mkdirIn creates directory dst (clean, absolute) and its missing parents inside the root, one
// mkdirat(2) at a time on the opened parent. A name that exists and is not a directory, or is
// a symlink, fails with ENOTDIR: the directory a symlink points at is never created. byKernel
// says whether openat2 resolved every parent (see resolve).
func (r *root) mkdirIn(dst string) (_ *handle, byKernel bool, _ error) {
	parent, byKernel, err := r.resolve(filepath.Dir(dst), false)
	if errors.Is(err, fs.ErrNotExist) && dst != "/" {
		parent, byKernel, err = r.mkdirIn(filepath.Dir(dst))
	}
	if err != nil {
		return nil, false, err
	}
	defer parent.Close()
	name := filepath.Base(dst)
	if err := unix.Mkdirat(parent.fd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return nil, false, &os.PathError{Op: "mkdirat", Path: dst, Err: err}
	}
	fd, err := unix.Openat(parent.fd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, &os.PathError{Op: "openat", Path: dst, Err: err}
	}
	return newHandle(fd, r.host(dst)), byKernel, nil
}

// createFile opens file dst, creating an empty one if missing: a bind mount of a file
// needs a file to land on.
func (r *root) createFile(s sys, dst string) (*handle, error) {
	f, err := r.open(dst, false)
	if !errors.Is(err, fs.ErrNotExist) {
		return f, err
	}
	parent, err := r.mkdirAll(s, filepath.Dir(dst), false)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	start := time.Now()
	// O_NOFOLLOW|O_EXCL: never create through a symlink planted at dst.
	fd, err := unix.Openat(parent.fd, filepath.Base(dst), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_RDONLY, 0o644)
	s.rec.Step("touch", r.host(dst), err, time.Since(start))
	if errors.Is(err, unix.EEXIST) {
		// Another container sharing this rootfs made it in between (hull's /etc/hosts
		// mounts on a shared image do): it is there, which is all we need.
		return r.open(dst, false)
	}
	if err != nil {
		return nil, err
	}
	_ = unix.Close(fd)
	return r.open(dst, false)
}

// noSymlink refuses dst if its last component is a symlink: proc and sysfs must land on
// a real directory, or a bundle could point /proc somewhere a later write would hurt.
func (r *root) noSymlink(dst string) error {
	parent, err := r.open(filepath.Dir(dst), true)
	if err != nil {
		return err
	}
	defer parent.Close()
	var st unix.Stat_t
	err = unix.Fstatat(parent.fd, filepath.Base(dst), &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("%s is a symlink in the rootfs: %w", dst, ErrUnsafePath)
	}
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	return nil
}

// stNoSymfollow is statfs(2)'s ST_NOSYMFOLLOW (Linux 5.10), missing from x/sys.
const stNoSymfollow = 0x2000

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// CheckProcfs makes sure path is a real procfs: statfs(2) reports PROC_SUPER_MAGIC. Call it
// before writing through a /proc the container could have influenced (sysctls, LSM labels).
func CheckProcfs(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", path, err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("%s is not procfs (magic %#x): %w", path, st.Type, ErrUnsafePath)
	}
	return nil
}

// mountFlags reads the MS_* flags a mount already has. A remount must repeat the ones
// the kernel locked (a user namespace cannot clear nosuid, nodev, noexec or the atime
// mode it inherited), or it fails with EPERM.
func mountFlags(f *handle) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Fstatfs(f.fd, &st); err != nil {
		return 0, err
	}
	var flags uintptr
	for st2ms, ms := range map[int64]uintptr{
		unix.ST_RDONLY: unix.MS_RDONLY, unix.ST_NOSUID: unix.MS_NOSUID, unix.ST_NODEV: unix.MS_NODEV,
		unix.ST_NOEXEC: unix.MS_NOEXEC, unix.ST_NOATIME: unix.MS_NOATIME,
		unix.ST_NODIRATIME: unix.MS_NODIRATIME, unix.ST_RELATIME: unix.MS_RELATIME,
		stNoSymfollow: unix.MS_NOSYMFOLLOW,
	} {
		if st.Flags&st2ms != 0 {
			flags |= ms
		}
	}
	if flags&(unix.MS_NOATIME|unix.MS_RELATIME) == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags, nil
}
