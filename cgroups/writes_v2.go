package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Writes translates a spec into cgroup v2 file writes, following runc's conversions.
// hull owns this instead of using cgroup2.ToResources (v3.1.3), which writes "-1" where the
// kernel wants "max" (memory limit, swap), drops a quota given without a period, scales the
// blkio weight to 1..10000 and then writes it to io.bfq.weight (range 1..1000), and leaves
// out the device rules. Devices are not files in v2: see v2Manager.Set.
func v2Writes(r *specs.LinuxResources) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	var ws []write
	add := func(ctrl, file, val, field string) {
		ws = append(ws, write{ctrl: ctrl, file: file, value: val, field: field})
	}
	if m := r.Memory; m != nil {
		if err := unsupportedV2(m.Swappiness != nil && *m.Swappiness != 0, "memory.swappiness"); err != nil {
			return nil, err
		}
		if err := unsupportedV2(m.DisableOOMKiller != nil && *m.DisableOOMKiller, "memory.disableOOMKiller"); err != nil {
			return nil, err
		}
		if err := unsupportedV2(set(m.KernelTCP), "memory.kernelTCP"); err != nil {
			return nil, err
		}
		if set(m.Limit) {
			add("memory", "memory.max", maxOr(*m.Limit), "memory.limit")
		}
		if set(m.Swap) {
			swap, err := v2Swap(*m.Swap, m.Limit)
			if err != nil {
				return nil, err
			}
			add("memory", "memory.swap.max", swap, "memory.swap")
		}
		if set(m.Reservation) {
			add("memory", "memory.low", maxOr(*m.Reservation), "memory.reservation")
		}
	}
	if c := r.CPU; c != nil {
		if err := unsupportedV2(setU(c.RealtimePeriod) || set(c.RealtimeRuntime), "cpu.realtimePeriod/realtimeRuntime"); err != nil {
			return nil, err
		}
		if setU(c.Shares) {
			add("cpu", "cpu.weight", u64(cgroup2.ConvertCPUSharesToCgroupV2Value(*c.Shares)), "cpu.shares")
		}
		if set(c.Quota) || setU(c.Period) {
			// "$MAX $PERIOD"; without a period the kernel keeps the current one.
			v := "max"
			if set(c.Quota) && *c.Quota > 0 {
				v = i64(*c.Quota)
			}
			if setU(c.Period) {
				v += " " + u64(*c.Period)
			}
			add("cpu", "cpu.max", v, "cpu.quota/period")
		}
		if c.Burst != nil {
			ws = append(ws, write{ctrl: "cpu", file: "cpu.max.burst", value: u64(*c.Burst), field: "cpu.burst", optional: *c.Burst == 0})
		}
		if c.Idle != nil {
			ws = append(ws, write{ctrl: "cpu", file: "cpu.idle", value: i64(*c.Idle), field: "cpu.idle", optional: *c.Idle == 0})
		}
		if c.Cpus != "" {
			add("cpuset", "cpuset.cpus", c.Cpus, "cpu.cpus")
		}
		if c.Mems != "" {
			add("cpuset", "cpuset.mems", c.Mems, "cpu.mems")
		}
	}
	if p := r.Pids; p != nil && set(p.Limit) {
		add("pids", "pids.max", pidsMax(*p.Limit), "pids.limit")
	}
	if io := r.BlockIO; io != nil {
		iw, err := v2IOWrites(io)
		if err != nil {
			return nil, err
		}
		ws = append(ws, iw...)
	}
	for _, h := range r.HugepageLimits {
		add("hugetlb", "hugetlb."+h.Pagesize+".max", u64(h.Limit), "hugepageLimits")
	}
	if n := r.Network; n != nil {
		if err := unsupportedV2((n.ClassID != nil && *n.ClassID != 0) || len(n.Priorities) > 0, "network (net_cls/net_prio)"); err != nil {
			return nil, err
		}
	}
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		add("rdma", "rdma.max", rdmaMax(dev, r.Rdma[dev]), "rdma")
	}
	// unified is the spec's escape hatch, written last so it overrides the above.
	// "Configuration unknown to the runtime MUST still be written to the relevant file", and
	// "The runtime MUST generate an error when the configuration refers to a cgroup controller
	// that is not present or that cannot be enabled": checkWrites does the latter.
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		ctrl, _, ok := strings.Cut(k, ".")
		if !ok || ctrl == "" || strings.ContainsAny(k, "/\x00") {
			return nil, fmt.Errorf("unified: %q is not a cgroup file name: %w", k, ErrPath)
		}
		add(ctrl, k, r.Unified[k], "unified."+k)
	}
	return ws, nil
}

func v2IOWrites(io *specs.LinuxBlockIO) ([]write, error) {
	if err := unsupportedV2(io.LeafWeight != nil && *io.LeafWeight != 0, "blockIO.leafWeight"); err != nil {
		return nil, err
	}
	var ws []write
	// Like runc: the BFQ scheduler's file takes the v1 range 10..1000 as is; without BFQ,
	// io.weight takes 1..10000, so the value is scaled.
	weight := func(dev string, w uint16, field string) {
		ws = append(ws, write{ctrl: "io", file: "io.bfq.weight", value: dev + u64(uint64(w)),
			alt: "io.weight", altValue: dev + u64(blkioToIOWeight(w)), field: field})
	}
	if io.Weight != nil && *io.Weight != 0 {
		weight("", *io.Weight, "blockIO.weight")
	}
	for _, d := range io.WeightDevice {
		if err := unsupportedV2(d.LeafWeight != nil && *d.LeafWeight != 0, "blockIO.weightDevice.leafWeight"); err != nil {
			return nil, err
		}
		if d.Weight != nil {
			weight(fmt.Sprintf("%d:%d ", d.Major, d.Minor), *d.Weight, "blockIO.weightDevice")
		}
	}
	for _, t := range []struct {
		key, field string
		devs       []specs.LinuxThrottleDevice
	}{
		{"rbps", "blockIO.throttleReadBpsDevice", io.ThrottleReadBpsDevice},
		{"wbps", "blockIO.throttleWriteBpsDevice", io.ThrottleWriteBpsDevice},
		{"riops", "blockIO.throttleReadIOPSDevice", io.ThrottleReadIOPSDevice},
		{"wiops", "blockIO.throttleWriteIOPSDevice", io.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			rate := "max" // v1 uses 0 to drop a throttle; v2 spells it max
			if d.Rate != 0 {
				rate = u64(d.Rate)
			}
			ws = append(ws, write{ctrl: "io", file: "io.max", value: fmt.Sprintf("%d:%d %s=%s", d.Major, d.Minor, t.key, rate), field: t.field})
		}
	}
	return ws, nil
}

// v2Swap converts the spec's memory+swap total into v2's swap-only memory.swap.max.
func v2Swap(swap int64, limit *int64) (string, error) {
	if swap < 0 {
		return "max", nil
	}
	if limit == nil || *limit <= 0 {
		return "", fmt.Errorf("memory.swap %d needs a memory.limit on cgroup v2: %w", swap, ErrResources)
	}
	if swap < *limit {
		return "", fmt.Errorf("memory.swap %d is below memory.limit %d: %w", swap, *limit, ErrResources)
	}
	return i64(swap - *limit), nil
}

// blkioToIOWeight maps v1's 10..1000 onto v2's 1..10000, as runc and crun do.
func blkioToIOWeight(w uint16) uint64 {
	if w <= 10 {
		return 1
	}
	return 1 + (uint64(w)-10)*9999/990
}

func maxOr(v int64) string {
	if v < 0 {
		return "max"
	}
	return i64(v)
}

// ErrResources is returned for a spec whose resource values contradict each other.
var ErrResources = errors.New("invalid resources")

func unsupportedV2(isSet bool, field string) error {
	if !isSet {
		return nil
	}
	return fmt.Errorf("%s has no cgroup v2 equivalent: %w", field, errors.ErrUnsupported)
}

// v2Devices fills in the spec's defaults that the library's eBPF compiler does not (it
// rejects an empty type and dereferences nil numbers): an unset type means "a" (all) and
// an unset major or minor means any, as the spec says; an unset access means rwm, as in
// the v1 rules.
func v2Devices(devs []specs.LinuxDeviceCgroup) []specs.LinuxDeviceCgroup {
	out := slices.Clone(devs)
	for i := range out {
		if out[i].Major == nil {
			out[i].Major = new(int64(-1))
		}
		if out[i].Minor == nil {
			out[i].Minor = new(int64(-1))
		}
		if out[i].Type == "" {
			out[i].Type = "a"
		}
		if out[i].Access == "" {
			out[i].Access = "rwm"
		}
	}
	return out
}
