package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Start lets a created container run its process: it opens the exec fifo, which wakes the stub.
// It waits on the fifo and a pidfd together, so a container that died meanwhile is an error, not
// a hang. poststart hooks run after the process was executed and before Start returns.
func (r *Runtime) Start(ctx context.Context, id string) error {
	return r.lockedWith(r.loadBrief, id, func(s *State) error {
		switch st := r.status(s); st {
		case Created:
		case Stopped:
			return errors.New("cannot start a container that has stopped")
		default:
			return fmt.Errorf("cannot start an already %s container", st)
		}
		return r.start(ctx, s)
	})
}

// start releases a container known to be "created", with its lock held.
func (r *Runtime) start(ctx context.Context, s *State) error {
	if s.Spec.Process == nil {
		return errors.New("cannot start a container without a process: config.json has no \"process\"")
	}
	if err := r.step("open+read", r.fifo(s.ID)+" (wakes the stub)", func() error { return r.openFifo(s) }); err != nil {
		return err
	}
	mustMove(Created, Running)
	if err := os.Remove(r.fifo(s.ID)); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	if h := s.Spec.Hooks; h != nil {
		r.runHooksWarn(ctx, "poststart", h.Poststart, s.OCIState(Running))
	}
	return nil
}

// openFifo releases the container's stub and waits until the user's program runs (see
// releaseStub). poststart hooks run "after the user-specified process is executed", as runc's
// start (which reads the fifo to EOF) runs them too.
func (r *Runtime) openFifo(s *State) error {
	// The pidfd first: opening the fifo lets the process run, and a short one may be gone (a
	// zombie) a moment later, which would look like a container that never started.
	pidfd, err := s.pidfd()
	if err != nil {
		return errors.New("cannot start a container that has stopped")
	}
	defer unix.Close(pidfd)
	err = releaseStub(r.fifo(s.ID), pidfd)
	if errors.Is(err, errStubExited) {
		return errors.New("container init exited before start")
	}
	return err
}

// errStubExited: the stub's process ended before it was released.
var errStubExited = errors.New("the process exited before it was released")

// releaseStub opens a stub's fifo for reading, which lets the stub (blocked opening it for
// writing) go on, and waits until the stub wrote its byte and then its end of the fifo closed:
// that end is close-on-exec, so EOF means the execve of the user's program happened (or the
// stub exited). It waits with poll(2) on the fifo and the process's pidfd, never with a sleep.
func releaseStub(path string, pidfd int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	woken := false
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for the stub: %w", err)
		}
		if fds[0].Revents&(unix.POLLIN|unix.POLLHUP) != 0 {
			var b [1]byte
			n, _ := unix.Read(fd, b[:])
			switch {
			case n == 1:
				woken = true
				continue
			case n == 0 && woken:
				return nil // EOF: the stub's write end closed at execve
			}
		}
		if fds[1].Revents != 0 {
			if woken {
				return nil // it ran and is gone already
			}
			return errStubExited
		}
	}
}
