package netns

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// NewNetNS creates a network namespace that outlives every process in it, the way
// `ip netns add` does: a thread unshares CLONE_NEWNET, and its /proc/thread-self/ns/net
// is bind-mounted onto path. A namespace lives while a process is in it, a descriptor
// refers to it, or, as here, it is mounted somewhere.
func NewNetNS(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("new netns %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("new netns %s: %w", path, err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: when this goroutine returns, the Go runtime ends
		// the thread, and the new namespace is not left behind on a thread that would run
		// other goroutines.
		goruntime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		src := fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid())
		if err := unix.Mount(src, path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("mount --bind %s %s: %w", src, path, err)
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		os.Remove(path)
		return fmt.Errorf("new netns %s: %w", path, err)
	}
	return nil
}

// DeleteNetNS unmounts a namespace made by NewNetNS and removes its file. The namespace
// itself goes when nothing else holds it; with it go its links (both ends of every veth
// pair with one end inside), addresses, routes and nftables tables. That is far cheaper
// than deleting the links one by one. A missing path is not an error.
func DeleteNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return fmt.Errorf("umount %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", path, err)
	}
	return nil
}

// inNS runs fn on a thread that has joined the network namespace nsFD, for the few things
// that act on the caller's own namespace rather than on a descriptor: /proc/sys/net and
// sockets. The thread is thrown away afterwards, so no goroutine ever runs on it in the
// wrong namespace.
func inNS(nsFD int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked, see NewNetNS
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns(CLONE_NEWNET): %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
