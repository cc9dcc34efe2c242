package rootfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// handle is a file descriptor the resolver opened: mostly an O_PATH one that lives a few
// microseconds, a mount target or the parent of a mkdirat(2). Not an *os.File: os.NewFile
// asks the kernel whether each descriptor is non-blocking (fcntl F_GETFL) and attaches a
// cleanup to it, for the ≈70 handles a container's root takes. Every one is opened
// O_CLOEXEC, so one left open never reaches a child.
type handle struct {
	fd   int
	name string // the path it was opened as, in this process's view
}

func newHandle(fd int, name string) *handle { return &handle{fd: fd, name: name} }

func (h *handle) Fd() uintptr  { return uintptr(h.fd) }
func (h *handle) Name() string { return h.name }

// Close closes the descriptor once; a second Close is a no-op, never the close of a number
// the kernel has handed out again.
func (h *handle) Close() error {
	if h.fd < 0 {
		return os.ErrClosed
	}
	fd := h.fd
	h.fd = -1
	return unix.Close(fd)
}

// file lends h to an API that takes an *os.File (pathrs-lite's fallbacks) as a duplicate,
// which the caller closes.
func (h *handle) file() (*os.File, error) {
	fd, err := unix.FcntlInt(uintptr(h.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), h.name), nil
}

// handleOf takes over an *os.File that pathrs-lite returned: h gets a duplicate of its
// descriptor and f is closed.
func handleOf(f *os.File) (*handle, error) {
	defer f.Close()
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return newHandle(fd, f.Name()), nil
}
