package namespaces

import (
	"errors"
	"fmt"
	"os"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ErrUserJoin is returned for a user namespace given by path: the kernel lets only a single-threaded
// process join one (setns(2), EINVAL), and a Go program always has several threads.
var ErrUserJoin = errors.New("joining an existing user namespace by path is not supported")

// Join moves the calling OS thread into the namespace at ns.Path. The caller must hold
// runtime.LockOSThread and never unlock it: the thread is changed for good, and Go retires a
// thread whose goroutine exits while locked. Processes cloned from this thread start inside.
func Join(ns specs.LinuxNamespace, rec Recorder) error {
	if ns.Type == specs.UserNamespace {
		return ErrUserJoin
	}
	f, err := os.Open(ns.Path)
	if err != nil {
		return fmt.Errorf("open %s namespace: %w", ns.Type, err)
	}
	defer f.Close()
	want := int(flagOf[ns.Type])
	got, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE)
	if err != nil {
		return fmt.Errorf("%s is not a namespace file: %w", ns.Path, err)
	}
	if got != want {
		return fmt.Errorf("%s is not a %s namespace", ns.Path, ns.Type)
	}
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
	err = unix.Setns(int(f.Fd()), want)
	rec.Step("setns", fmt.Sprintf("%s %s", ns.Path, ns.Type), err, time.Since(t0))
	if err != nil {
		return fmt.Errorf("setns %s %s: %w", ns.Type, ns.Path, err)
	}
	return nil
}
