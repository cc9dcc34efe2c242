package runtime

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Kill sends sig to the container's init, or with all to every process of its cgroup. Killing a
// stopped container is "container not running", except with all, which containerd's shim sends
// repeatedly after exit and expects to succeed.
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	s, err := r.loadBrief(id)
	if err != nil {
		return err
	}
	st := r.status(s)
	if st == Stopped {
		if all {
			return nil
		}
		return NotRunningError{ID: id}
	}
	if all {
		cg, err := r.loadCgroup(s)
		if err != nil {
			return err
		}
		if err := r.step("cgroup.kill", fmt.Sprintf("%s %s", unix.SignalName(sig), s.CgroupPath), func() error { return cg.Kill(sig) }); err != nil {
			return fmt.Errorf("kill all processes of %s: %w", id, err)
		}
		return nil
	}
	pidfd, err := s.pidfd()
	if err != nil {
		return NotRunningError{ID: id}
	}
	defer unix.Close(pidfd)
	err = r.step("pidfd_send_signal", fmt.Sprintf("%s pid %d", unix.SignalName(sig), s.Pid), func() error {
		return unix.PidfdSendSignal(pidfd, sig, nil, 0)
	})
	if errors.Is(err, unix.ESRCH) {
		return NotRunningError{ID: id}
	}
	if err != nil {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	if st == Paused && sig == unix.SIGKILL {
		// A frozen process takes its SIGKILL only once thawed.
		if cg, err := r.loadCgroup(s); err == nil {
			_ = cg.Thaw()
		}
	}
	return nil
}
