package runtime

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/initbin"
)

// initExe opens the program the container's init runs: hull-init, the init linked alone and
// embedded in hull (runtime/initbin), from its cached copy under the state root; or nil, which
// means hull's own binary ("hull init", ≈2 ms more CPU per container to start). roClone asks
// for a detached read-only bind mount of it (the user-namespace path: spawn_enter.go says why);
// one is made anyway when the cache sits on a noexec mount (many hosts mount /run noexec).
// Whatever fails here falls back to hull's own binary, and --debug says why.
func (r *Runtime) initExe(roClone bool) *os.File {
	t0 := time.Now()
	f, err := initbin.Open(r.Root, r)
	if f == nil {
		if err != nil {
			r.Step("open", "hull-init (the embedded init; falling back to hull init)", err, time.Since(t0))
		}
		return nil
	}
	var sf unix.Statfs_t
	noexec := unix.Fstatfs(int(f.Fd()), &sf) == nil && sf.Flags&unix.ST_NOEXEC != 0
	r.Step("open", fmt.Sprintf("%s O_RDONLY (hull-init, the embedded init: checked by fstat)", f.Name()), nil, time.Since(t0))
	if !roClone && !noexec {
		return f
	}
	defer f.Close()
	c, err := r.readOnlyClone(int(f.Fd()), "", f.Name())
	if err != nil {
		return nil // the step is recorded
	}
	return c
}

// readOnlyClone is path (relative to dirfd; "" for dirfd itself) as a detached read-only bind
// mount (open_tree, mount_setattr): the init runs from it, and /proc/<init>/exe then leads to a
// mount no one can write through (CVE-2019-5736). noexec is cleared on the clone, which only
// this fd reaches. Kernels before 5.12 lack mount_setattr.
func (r *Runtime) readOnlyClone(dirfd int, path, name string) (*os.File, error) {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if path == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	var fd int
	err := r.step("open_tree", name+" OPEN_TREE_CLONE + mount_setattr MOUNT_ATTR_RDONLY (the init's binary, read-only)", func() (err error) {
		fd, err = unix.OpenTree(dirfd, path, uint(flags))
		if err != nil {
			return err
		}
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY, Attr_clr: unix.MOUNT_ATTR_NOEXEC}
		if err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, attr); err != nil {
			unix.Close(fd)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}
