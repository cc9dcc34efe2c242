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
// a hang. poststart hooks run after the process started and before Start returns.
func (r *Runtime) Start(ctx context.Context, id string) error {
	unlock, err := r.lock(id)
	if err != nil {
		return err
	}
	defer unlock()
	s, err := r.load(id)
	if err != nil {
		return err
	}
	switch st := r.status(s); st {
	case Created:
	case Stopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start an already %s container", st)
	}
	if s.Spec.Process == nil {
		return errors.New("cannot start a container without a process: config.json has no \"process\"")
	}
	if err := r.step("open+read", r.fifo(id)+" (wakes the stub)", func() error { return r.openFifo(s) }); err != nil {
		return err
	}
	mustMove(Created, Running)
	if err := os.Remove(r.fifo(id)); err != nil {
		return fmt.Errorf("remove exec fifo: %w", err)
	}
	if h := s.Spec.Hooks; h != nil {
		r.runHooksWarn(ctx, "poststart", h.Poststart, s.OCIState(Running))
	}
	return nil
}

// openFifo opens the fifo for reading and waits until the stub wrote its byte or died.
func (r *Runtime) openFifo(s *State) error {
	fd, err := unix.Open(r.fifo(s.ID), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	defer unix.Close(fd)
	pidfd, err := s.pidfd()
	if err != nil {
		return errors.New("cannot start a container that has stopped")
	}
	defer unix.Close(pidfd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for container init: %w", err)
		}
		if fds[0].Revents&unix.POLLIN != 0 {
			var b [1]byte
			if n, _ := unix.Read(fd, b[:]); n == 1 {
				return nil
			}
		}
		if fds[1].Revents != 0 {
			return errors.New("container init exited before start")
		}
	}
}
