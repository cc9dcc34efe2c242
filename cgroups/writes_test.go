package cgroups

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func p[T any](v T) *T { return &v }

// flat renders writes as "file=value" (with "|alt=value" and "?" for optional) for tables.
func flat(ws []write) []string {
	var out []string
	for _, w := range ws {
		s := w.file + "=" + w.value
		if w.alt != "" {
			s += "|" + w.alt + "=" + w.altValue
		}
		if w.optional {
			s += "?"
		}
		out = append(out, s)
	}
	return out
}

func TestV2Writes(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *specs.LinuxResources
		want []string
	}{
		{"nil", nil, nil},
		{"empty", &specs.LinuxResources{}, nil},
		{"memory", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](64 << 20), Swap: p[int64](96 << 20), Reservation: p[int64](32 << 20)}},
			[]string{"memory.max=67108864", "memory.swap.max=33554432", "memory.low=33554432"}},
		{"memory unlimited", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](-1), Swap: p[int64](-1)}},
			[]string{"memory.max=max", "memory.swap.max=max"}},
		{"memory zero is unset", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](0), Swap: p[int64](0), Swappiness: p[uint64](0), DisableOOMKiller: p(false)}}, nil},
		{"swap equal to limit means no swap", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](100), Swap: p[int64](100)}},
			[]string{"memory.max=100", "memory.swap.max=0"}},
		{"kernel memory ignored", &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: p[int64](100)}}, nil},
		{"cpu", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: p[uint64](1024), Quota: p[int64](50000), Period: p[uint64](100000), Cpus: "0-1", Mems: "0"}},
			[]string{"cpu.weight=100", "cpu.max=50000 100000", "cpuset.cpus=0-1", "cpuset.mems=0"}},
		{"cpu shares extremes", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: p[uint64](2)}}, []string{"cpu.weight=1"}},
		{"quota without period keeps the period", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: p[int64](20000)}}, []string{"cpu.max=20000"}},
		{"quota -1 is max", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: p[int64](-1), Period: p[uint64](50000)}}, []string{"cpu.max=max 50000"}},
		{"burst and idle", &specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: p[uint64](0), Idle: p[int64](1)}}, []string{"cpu.max.burst=0?", "cpu.idle=1"}},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](32)}}, []string{"pids.max=32"}},
		{"pids unlimited", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](-1)}}, []string{"pids.max=max"}},
		{"pids zero is unset", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](0)}}, nil},
		{"io", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
			Weight:                  p[uint16](500),
			WeightDevice:            []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: p[uint16](10)}},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 1 << 20}},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 16}, Rate: 0}},
		}}, []string{"io.bfq.weight=500|io.weight=4950", "io.bfq.weight=8:0 10|io.weight=8:0 1", "io.max=8:0 rbps=1048576", "io.max=8:16 wiops=max"}},
		{"hugetlb", &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}}, []string{"hugetlb.2MB.max=2097152"}},
		{"rdma", &specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: p[uint32](3)}, "mlx4_0": {HcaHandles: p[uint32](2), HcaObjects: p[uint32](100)}}},
			[]string{"rdma.max=mlx4_0 hca_handle=2 hca_object=100", "rdma.max=mlx5_1 hca_handle=3 hca_object=max"}},
		{"unified last, sorted", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](5)}, Unified: map[string]string{"pids.max": "7", "memory.high": "1G", "cgroup.max.depth": "3"}},
			[]string{"pids.max=5", "cgroup.max.depth=3", "memory.high=1G", "pids.max=7"}},
		{"devices are not files", &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ws, err := v2Writes(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if got := flat(ws); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestV2WritesErrors(t *testing.T) {
	for _, tc := range []struct {
		r     *specs.LinuxResources
		field string
		err   error
	}{
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: p[uint64](60)}}, "memory.swappiness", errors.ErrUnsupported},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: p(true)}}, "memory.disableOOMKiller", errors.ErrUnsupported},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: p[int64](1 << 20)}}, "memory.kernelTCP", errors.ErrUnsupported},
		{&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: p[int64](950000)}}, "cpu.realtime", errors.ErrUnsupported},
		{&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: p[uint32](0x100001)}}, "network", errors.ErrUnsupported},
		{&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: p[uint16](100)}}, "blockIO.leafWeight", errors.ErrUnsupported},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: p[int64](100)}}, "memory.swap 100 needs a memory.limit", ErrResources},
		{&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](200), Swap: p[int64](100)}}, "memory.swap 100 is below", ErrResources},
		{&specs.LinuxResources{Unified: map[string]string{"../../etc/passwd": "x"}}, "unified", ErrPath},
		{&specs.LinuxResources{Unified: map[string]string{"nodot": "x"}}, "unified", ErrPath},
	} {
		_, err := v2Writes(tc.r)
		if !errors.Is(err, tc.err) || !strings.HasPrefix(err.Error(), tc.field) {
			t.Errorf("v2Writes(%s) = %v, want %q… and %v", tc.field, err, tc.field, tc.err)
		}
	}
}

func TestV1Writes(t *testing.T) {
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: p[int64](64 << 20), Swap: p[int64](-1), Reservation: p[int64](0), Kernel: p[int64](1),
			KernelTCP: p[int64](1 << 20), Swappiness: p[uint64](0), DisableOOMKiller: p(true)},
		CPU: &specs.LinuxCPU{Shares: p[uint64](512), Quota: p[int64](-1), Period: p[uint64](100000), Burst: p[uint64](1000),
			RealtimeRuntime: p[int64](950000), RealtimePeriod: p[uint64](1000000), Idle: p[int64](0), Cpus: "1", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: p[int64](-1)},
		BlockIO: &specs.LinuxBlockIO{Weight: p[uint16](300), LeafWeight: p[uint16](200),
			WeightDevice:           []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Weight: p[uint16](100), LeafWeight: p[uint16](50)}},
			ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 8, Minor: 0}, Rate: 0}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 0}},
		Network:        &specs.LinuxNetwork{ClassID: p[uint32](0x100001), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
		Rdma:           map[string]specs.LinuxRdma{"mlx4_0": {HcaObjects: p[uint32](10)}},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: p[int64](1), Minor: p[int64](3), Access: "rwm"},
			{Allow: true, Type: "c", Major: p[int64](136), Minor: p[int64](-1), Access: "rw"},
		},
	}
	want := []string{
		"memory.limit_in_bytes=67108864", "memory.memsw.limit_in_bytes=-1", "memory.kmem.tcp.limit_in_bytes=1048576",
		"memory.swappiness=0?", "memory.oom_control=1",
		"cpu.shares=512", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=-1", "cpu.cfs_burst_us=1000",
		"cpu.rt_period_us=1000000", "cpu.rt_runtime_us=950000", "cpu.idle=0?", "cpuset.cpus=1", "cpuset.mems=0",
		"pids.max=max",
		"blkio.weight=300", "blkio.leaf_weight=200", "blkio.weight_device=8:0 100", "blkio.leaf_weight_device=8:0 50",
		"blkio.throttle.write_bps_device=8:0 0",
		"hugetlb.2MB.limit_in_bytes=0",
		"net_cls.classid=1048577", "net_prio.ifpriomap=eth0 5",
		"rdma.max=mlx4_0 hca_handle=max hca_object=10",
		"devices.deny=a *:* rwm", "devices.allow=c 1:3 rwm", "devices.allow=c 136:* rw",
	}
	ws, err := v1Writes(r)
	if err != nil {
		t.Fatal(err)
	}
	if got := flat(ws); !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	for _, w := range ws {
		if w.ctrl == "" || w.field == "" || !strings.HasPrefix(w.file, w.ctrl+".") && w.ctrl != "cpuset" {
			t.Errorf("write %+v: ctrl or field missing", w)
		}
	}
}

func TestV1WritesUnifiedUnsupported(t *testing.T) {
	_, err := v1Writes(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.HasPrefix(err.Error(), "unified") {
		t.Errorf("v1Writes(unified) = %v", err)
	}
}

func TestV2Devices(t *testing.T) {
	in := []specs.LinuxDeviceCgroup{{Allow: false}, {Allow: true, Type: "c", Major: p[int64](1), Minor: p[int64](3), Access: "rw"}}
	got := v2Devices(in)
	if got[0].Type != "a" || got[0].Access != "rwm" || *got[0].Major != -1 || *got[0].Minor != -1 ||
		got[1].Type != "c" || got[1].Access != "rw" || *got[1].Major != 1 || *got[1].Minor != 3 {
		t.Errorf("v2Devices = %+v", got)
	}
	if in[0].Type != "" {
		t.Error("v2Devices changed its input")
	}
}

func TestBlkioToIOWeight(t *testing.T) {
	for in, want := range map[uint16]uint64{10: 1, 1: 1, 100: 910, 500: 4950, 1000: 10000} {
		if got := blkioToIOWeight(in); got != want {
			t.Errorf("blkioToIOWeight(%d) = %d, want %d", in, got, want)
		}
	}
}

func ExampleMode() {
	fmt.Println(slices.Contains([]string{"v1", "hybrid", "v2", "none"}, Mode()))
	// Output: true
}
