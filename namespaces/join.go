package namespaces

import (
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrSingleThreaded is returned by Join for a user or time namespace: the kernel lets only a
// single-threaded process join one (setns(2) fails with EINVAL and EUSERS), and a Go program
// always has several threads. hull's stub, a small C program, joins those (see ToJoinAlone).
var ErrSingleThreaded = errors.New("only a single-threaded process can join a user or time namespace")

// Join moves the calling OS thread into the namespace at ns.Path. The caller must hold
// runtime.LockOSThread and never unlock it: the thread is changed for good, and Go retires a
// thread whose goroutine exits while locked. Processes cloned from this thread start inside.
func Join(ns specs.LinuxNamespace, rec Recorder) error {
	if alone(ns.Type) {
		return fmt.Errorf("join %s namespace %s: %w", ns.Type, ns.Path, ErrSingleThreaded)
	}
	f, err := Open(ns)
	if err != nil {
		return err
	}
	defer f.Close()
	if ns.Type == specs.MountNamespace {
		// setns(CLONE_NEWNS) refuses a thread that shares its fs_struct (root, cwd) with others.
		t0 := time.Now()
		err := unix.Unshare(unix.CLONE_FS)
		rec.Step("unshare", "CLONE_FS", err, time.Since(t0))
		if err != nil {
			return fmt.Errorf("unshare CLONE_FS before joining mount namespace: %w", err)
		}
	}
	t0 := time.Now()
	err = unix.Setns(int(f.Fd()), int(flagOf[ns.Type]))
	rec.Step("setns", fmt.Sprintf("%s %s", ns.Path, ns.Type), err, time.Since(t0))
	if err != nil {
		return fmt.Errorf("setns %s %s: %w", ns.Type, ns.Path, err)
	}
	return nil
}

// Open opens the namespace file at ns.Path (close-on-exec) and checks that it is a namespace
// of type ns.Type (ioctl NS_GET_NSTYPE), so that a wrong path fails here, clearly, and not in
// setns(2) with a bare EINVAL.
func Open(ns specs.LinuxNamespace) (*os.File, error) {
	f, err := os.Open(ns.Path)
	if err != nil {
		return nil, fmt.Errorf("open %s namespace: %w", ns.Type, err)
	}
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is not a namespace file: %w", ns.Path, err)
	}
	if uintptr(got) != flagOf[ns.Type] {
		f.Close()
		return nil, fmt.Errorf("%s is not a %s namespace", ns.Path, ns.Type)
	}
	return f, nil
}

// Ours reports whether the namespace f is the one the calling thread is in. setns(2) refuses to
// "re-enter" one's own user namespace (EINVAL), so a caller skips it instead.
func Ours(f *os.File, t specs.LinuxNamespaceType) (bool, error) {
	var a, b unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		return false, fmt.Errorf("stat %s namespace: %w", t, err)
	}
	if err := unix.Stat("/proc/thread-self/ns/"+procName[t], &b); err != nil {
		return false, fmt.Errorf("stat own %s namespace: %w", t, err)
	}
	return a.Dev == b.Dev && a.Ino == b.Ino, nil
}
