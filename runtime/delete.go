package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
)

// Delete removes a stopped container: its processes, the cgroups hull created, its state.
// A created container is killed first (runc does the same); a running or paused one only with
// force. Deleting an unknown container with force succeeds, as the shims expect.
func (r *Runtime) Delete(ctx context.Context, id string, force bool) error {
	unlock, err := r.lock(id)
	if err != nil {
		if force && errors.Is(err, ErrNotExist) {
			return nil
		}
		return err
	}
	defer unlock()
	s, err := r.loadBrief(id)
	if err != nil {
		if errors.Is(err, ErrNotExist) {
			if force {
				// A state dir without a state file: its creator died mid-create (a killed
				// supervisor). Nothing else would ever remove it.
				return os.RemoveAll(r.dir(id))
			}
			return err
		}
		// A state dir without a readable state file is a half-made container: remove it.
		return os.RemoveAll(r.dir(id))
	}
	if err := needsFullHull(s); err != nil {
		return err // before the kill: the full hull deletes it all
	}
	switch st := r.status(s); st {
	case Stopped:
	case Created:
		if err := r.killAndWait(s); err != nil {
			return err
		}
	default:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
		}
		if err := r.killAndWait(s); err != nil {
			return err
		}
	}
	return r.destroy(ctx, s, nil)
}

// killAndWait SIGKILLs the init and waits on its pidfd until it is gone (no sleep: runc sleeps
// 100 ms here).
func (r *Runtime) killAndWait(s *State) error {
	pidfd, err := s.pidfd()
	if err != nil {
		return nil // already gone
	}
	defer unix.Close(pidfd)
	if err := r.step("pidfd_send_signal", fmt.Sprintf("SIGKILL pid %d", s.Pid), func() error {
		return unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	}); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kill %s: %w", s.ID, err)
	}
	if cg, err := r.loadCgroup(s); err == nil {
		if frozen, _ := cg.Frozen(); frozen {
			_ = cg.Thaw()
		}
	}
	return r.step("poll", fmt.Sprintf("pidfd of pid %d until exit", s.Pid), func() error { return waitExit(pidfd, 10000) })
}

// destroy releases everything a stopped container holds, then runs poststop hooks. cg is the
// container's cgroup manager if the caller has it, nil to load it from the state.
func (r *Runtime) destroy(ctx context.Context, s *State, cg cgroups.Manager) error {
	if err := r.detachNetwork(ctx, s); err != nil {
		return err
	}
	var err error
	if cg == nil {
		cg, err = r.loadCgroup(s)
	}
	if err == nil {
		// Without a pid namespace of its own, the container's other processes outlive its init.
		if procs, err := cg.Procs(); err == nil && len(procs) > 0 {
			_ = cg.Kill(unix.SIGKILL)
			if err := r.waitCgroupEmpty(cg, procs); err != nil {
				return err
			}
		}
		if err := r.step("cgroup.delete", s.CgroupPath, cg.Delete); err != nil {
			return fmt.Errorf("delete cgroup %s: %w", s.CgroupPath, err)
		}
		if filepath.Dir(s.CgroupPath) == "/hull" {
			// The default parent is shared: the first container made it, the last one out removes it.
			cgroups.RemoveIfEmpty("/hull", r)
		}
	}
	if err := r.unmountProcShared(s.Spec, s.Rootfs); err != nil {
		return err
	}
	if h := s.Spec.Hooks; h != nil {
		r.runHooksWarn(ctx, "poststop", h.Poststop, s.OCIState(Stopped))
	}
	if err := r.releaseImage(s); err != nil {
		return err
	}
	if err := r.step("rm -r", r.dir(s.ID), func() error { return os.RemoveAll(r.dir(s.ID)) }); err != nil {
		return fmt.Errorf("remove state of %s: %w", s.ID, err)
	}
	return nil
}

// waitCgroupEmpty waits on the pidfds of the processes that were in the cgroup.
func (r *Runtime) waitCgroupEmpty(cg cgroups.Manager, procs []int) error {
	for _, pid := range procs {
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue // already gone
		}
		err = waitExit(fd, 10000)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("process %d of %s did not die: %w", pid, cg.Path(), err)
		}
	}
	return nil
}

// loadCgroup reopens the container's cgroup from its state.
func (r *Runtime) loadCgroup(s *State) (cgroups.Manager, error) {
	return cgroups.Load(s.CgroupPath, s.CgroupCreated, r)
}
