package runtime

import (
	"fmt"
)

// Pause freezes every process of a running container (freezer.state on v1, cgroup.freeze on v2).
func (r *Runtime) Pause(id string) error {
	return r.freeze(id, Running, Paused)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	return r.freeze(id, Paused, Running)
}

func (r *Runtime) freeze(id string, from, to Status) error {
	return r.locked(id, func(s *State) error {
		if st := r.status(s); st != from {
			return fmt.Errorf("container %s is %s, not %s", id, st, from)
		}
		mustMove(from, to)
		cg, err := r.loadCgroup(s)
		if err != nil {
			return err
		}
		op := cg.Freeze
		if to == Running {
			op = cg.Thaw
		}
		if err := r.step("cgroup.freeze", fmt.Sprintf("%s → %s", s.CgroupPath, to), op); err != nil {
			return fmt.Errorf("%s %s: %w", map[Status]string{Paused: "pause", Running: "resume"}[to], id, err)
		}
		return nil
	})
}

// Pids lists the host pids of every process in the container's cgroup.
func (r *Runtime) Pids(id string) ([]int, error) {
	s, err := r.loadBrief(id)
	if err != nil {
		return nil, err
	}
	if r.status(s) == Stopped {
		return []int{}, nil
	}
	cg, err := r.loadCgroup(s)
	if err != nil {
		return nil, err
	}
	return cg.Procs()
}
