package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Update changes a running (or created, or paused) container's cgroup limits and keeps the new
// values in its state, so a later update starts from them. Only the fields r sets change:
// Docker and containerd send partial LinuxResources.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	return r.locked(id, func(s *State) error {
		if r.status(s) == Stopped {
			return fmt.Errorf("cannot update a stopped container %s", id)
		}
		cg, err := r.loadCgroup(s)
		if err != nil {
			return err
		}
		if err := r.step("cgroup.set", s.CgroupPath, func() error { return cg.Set(res) }); err != nil {
			return fmt.Errorf("update %s: %w", id, err)
		}
		if s.Spec.Linux.Resources == nil {
			s.Spec.Linux.Resources = &specs.LinuxResources{}
		}
		mergeResources(s.Spec.Linux.Resources, res)
		return r.save(s)
	})
}

// mergeResources copies every field set in src into dst.
func mergeResources(dst, src *specs.LinuxResources) {
	if src.Memory != nil {
		if dst.Memory == nil {
			dst.Memory = &specs.LinuxMemory{}
		}
		m, d := src.Memory, dst.Memory
		for _, f := range []struct{ from, to **int64 }{{&m.Limit, &d.Limit}, {&m.Reservation, &d.Reservation}, {&m.Swap, &d.Swap}, {&m.Kernel, &d.Kernel}, {&m.KernelTCP, &d.KernelTCP}} {
			if *f.from != nil {
				*f.to = *f.from
			}
		}
		if m.Swappiness != nil {
			d.Swappiness = m.Swappiness
		}
	}
	if src.CPU != nil {
		if dst.CPU == nil {
			dst.CPU = &specs.LinuxCPU{}
		}
		c, d := src.CPU, dst.CPU
		if c.Shares != nil {
			d.Shares = c.Shares
		}
		if c.Quota != nil {
			d.Quota = c.Quota
		}
		if c.Period != nil {
			d.Period = c.Period
		}
		if c.Cpus != "" {
			d.Cpus = c.Cpus
		}
		if c.Mems != "" {
			d.Mems = c.Mems
		}
	}
	if src.Pids != nil {
		dst.Pids = src.Pids
	}
	if src.BlockIO != nil {
		dst.BlockIO = src.BlockIO
	}
	if len(src.Unified) > 0 {
		if dst.Unified == nil {
			dst.Unified = map[string]string{}
		}
		for k, v := range src.Unified {
			dst.Unified[k] = v
		}
	}
}
