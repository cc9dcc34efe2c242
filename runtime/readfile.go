package runtime

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readFile reads a file once, whole: config.json, state.json, /proc/<pid>/stat. Not
// os.ReadFile, whose *os.File tries Go's netpoller first: two fcntl(2) to make the file
// non-blocking, an epoll_ctl(2), and two more to undo it when the file cannot be polled (a
// /proc file can, and costs an epoll_ctl(2) more at Close). A file from os.NewFile on a
// blocking descriptor stays out of the poller.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	return io.ReadAll(f)
}
