package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// write is one value for one cgroup file. Set turns the spec into a list of these (a pure
// function per cgroup version, table-tested), checks that every file exists, then writes
// them in order. Owning this list, rather than handing the spec to the library, is what
// lets hull log each write, name the spec field the host cannot honour, and fix the
// library's gaps (see writes_v2.go).
type write struct {
	ctrl     string // controller (v1: hierarchy name) whose directory holds the file
	file     string
	value    string
	alt      string // file to use when file is absent (v2: io.bfq.weight -> io.weight)
	altValue string
	field    string // the spec field, for error messages
	optional bool   // a zero or default value: skip silently where the host lacks the file
}

func i64(v int64) string  { return strconv.FormatInt(v, 10) }
func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// set reports whether an optional int64 is present and not the "unset" zero.
func set(p *int64) bool { return p != nil && *p != 0 }

func setU(p *uint64) bool { return p != nil && *p != 0 }

// v1Writes translates a spec into cgroup v1 file writes. Zero means "leave as is", as in
// runc; -1 means "no limit" where the v1 file takes -1 (memory) or "max" (pids).
func v1Writes(r *specs.LinuxResources) ([]write, error) {
	if r == nil {
		return nil, nil
	}
	var ws []write
	add := func(ctrl, file, val, field string) {
		ws = append(ws, write{ctrl: ctrl, file: file, value: val, field: field})
	}
	if len(r.Unified) > 0 {
		return nil, fmt.Errorf("unified needs cgroup v2 (this host has v1 controllers): %w", errors.ErrUnsupported)
	}
	if m := r.Memory; m != nil {
		// memsw (memory+swap) must never be below the memory limit; Set orders the two
		// writes against the current value (see v1Manager.orderMemory).
		if set(m.Limit) {
			add("memory", "memory.limit_in_bytes", i64(*m.Limit), "memory.limit")
		}
		if set(m.Swap) {
			add("memory", "memory.memsw.limit_in_bytes", i64(*m.Swap), "memory.swap")
		}
		if set(m.Reservation) {
			add("memory", "memory.soft_limit_in_bytes", i64(*m.Reservation), "memory.reservation")
		}
		if set(m.KernelTCP) {
			add("memory", "memory.kmem.tcp.limit_in_bytes", i64(*m.KernelTCP), "memory.kernelTCP")
		}
		// memory.kernel is deprecated by the spec ("runtimes MAY ignore") and ignored by
		// kernels since 5.16 (measured here: accepted, no effect), so hull ignores it.
		if m.Swappiness != nil {
			ws = append(ws, write{ctrl: "memory", file: "memory.swappiness", value: u64(*m.Swappiness),
				field: "memory.swappiness", optional: *m.Swappiness == 0})
		}
		if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
			add("memory", "memory.oom_control", "1", "memory.disableOOMKiller")
		}
	}
	if c := r.CPU; c != nil {
		if setU(c.Shares) {
			add("cpu", "cpu.shares", u64(*c.Shares), "cpu.shares")
		}
		// The period first: the kernel checks quota against the period in place.
		if setU(c.Period) {
			add("cpu", "cpu.cfs_period_us", u64(*c.Period), "cpu.period")
		}
		if set(c.Quota) {
			add("cpu", "cpu.cfs_quota_us", i64(*c.Quota), "cpu.quota")
		}
		if c.Burst != nil {
			ws = append(ws, write{ctrl: "cpu", file: "cpu.cfs_burst_us", value: u64(*c.Burst),
				field: "cpu.burst", optional: *c.Burst == 0})
		}
		if setU(c.RealtimePeriod) {
			add("cpu", "cpu.rt_period_us", u64(*c.RealtimePeriod), "cpu.realtimePeriod")
		}
		if set(c.RealtimeRuntime) {
			add("cpu", "cpu.rt_runtime_us", i64(*c.RealtimeRuntime), "cpu.realtimeRuntime")
		}
		if c.Idle != nil {
			ws = append(ws, write{ctrl: "cpu", file: "cpu.idle", value: i64(*c.Idle),
				field: "cpu.idle", optional: *c.Idle == 0})
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
		ws = append(ws, v1BlkioWrites(io)...)
	}
	for _, h := range r.HugepageLimits {
		add("hugetlb", "hugetlb."+h.Pagesize+".limit_in_bytes", u64(h.Limit), "hugepageLimits")
	}
	if n := r.Network; n != nil {
		if n.ClassID != nil && *n.ClassID != 0 {
			add("net_cls", "net_cls.classid", u64(uint64(*n.ClassID)), "network.classID")
		}
		for _, p := range n.Priorities {
			add("net_prio", "net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority), "network.priorities")
		}
	}
	for _, dev := range slices.Sorted(maps.Keys(r.Rdma)) {
		add("rdma", "rdma.max", rdmaMax(dev, r.Rdma[dev]), "rdma")
	}
	// Device rules go in order: the spec's list is usually "deny all" then the allowed few.
	for _, d := range r.Devices {
		file := "devices.deny"
		if d.Allow {
			file = "devices.allow"
		}
		add("devices", file, deviceRule(d), "devices")
	}
	return ws, nil
}

func v1BlkioWrites(io *specs.LinuxBlockIO) []write {
	var ws []write
	add := func(file, val, field string) {
		ws = append(ws, write{ctrl: "blkio", file: file, value: val, field: field})
	}
	if io.Weight != nil && *io.Weight != 0 {
		add("blkio.weight", u64(uint64(*io.Weight)), "blockIO.weight")
	}
	if io.LeafWeight != nil && *io.LeafWeight != 0 {
		add("blkio.leaf_weight", u64(uint64(*io.LeafWeight)), "blockIO.leafWeight")
	}
	for _, d := range io.WeightDevice {
		if d.Weight != nil {
			add("blkio.weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight), "blockIO.weightDevice")
		}
		if d.LeafWeight != nil {
			add("blkio.leaf_weight_device", fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.LeafWeight), "blockIO.weightDevice")
		}
	}
	for _, t := range []struct {
		file, field string
		devs        []specs.LinuxThrottleDevice
	}{
		{"blkio.throttle.read_bps_device", "blockIO.throttleReadBpsDevice", io.ThrottleReadBpsDevice},
		{"blkio.throttle.write_bps_device", "blockIO.throttleWriteBpsDevice", io.ThrottleWriteBpsDevice},
		{"blkio.throttle.read_iops_device", "blockIO.throttleReadIOPSDevice", io.ThrottleReadIOPSDevice},
		{"blkio.throttle.write_iops_device", "blockIO.throttleWriteIOPSDevice", io.ThrottleWriteIOPSDevice},
	} {
		for _, d := range t.devs {
			add(t.file, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate), t.field)
		}
	}
	return ws
}

func pidsMax(limit int64) string {
	if limit < 0 {
		return "max"
	}
	return i64(limit)
}

func rdmaMax(dev string, l specs.LinuxRdma) string {
	h, o := "max", "max"
	if l.HcaHandles != nil {
		h = u64(uint64(*l.HcaHandles))
	}
	if l.HcaObjects != nil {
		o = u64(uint64(*l.HcaObjects))
	}
	return fmt.Sprintf("%s hca_handle=%s hca_object=%s", dev, h, o)
}

// deviceRule is the devices.allow/deny syntax: "type major:minor access", * for a wildcard.
func deviceRule(d specs.LinuxDeviceCgroup) string {
	num := func(p *int64) string {
		if p == nil || *p < 0 {
			return "*"
		}
		return i64(*p)
	}
	t, access := d.Type, d.Access
	if t == "" {
		t = "a"
	}
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("%s %s:%s %s", t, num(d.Major), num(d.Minor), access)
}
