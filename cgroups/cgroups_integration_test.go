//go:build integration

package cgroups

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cgv3 "github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestIntegrationMode(t *testing.T) {
	host(t)
	want := map[cgv3.CGMode]string{cgv3.Legacy: "v1", cgv3.Hybrid: "hybrid", cgv3.Unified: "v2"}[cgv3.Mode()]
	if got := Mode(); got != want {
		t.Errorf("Mode() = %q, the library says %q", got, want)
	}
	t.Logf("cgroup mode: %s", Mode())
}

// limitsSpec is what a typical container asks for.
func limitsSpec() *specs.LinuxResources {
	return &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: p[int64](64 << 20)},
		CPU:    &specs.LinuxCPU{Shares: p[uint64](512), Quota: p[int64](50000), Period: p[uint64](100000), Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: p[int64](32)},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: p[int64](1), Minor: p[int64](3), Access: "rwm"}, // /dev/null
		},
	}
}

func TestIntegrationLimits(t *testing.T) {
	lay := host(t)
	path := testParent(t, lay) + "/limits"
	m, err := New(path, limitsSpec(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Delete(); err != nil {
			t.Error(err)
		}
	})
	want := map[string]string{ // controller/file -> value
		"memory/memory.limit_in_bytes": "67108864", "cpu/cpu.shares": "512", "cpu/cpu.cfs_quota_us": "50000",
		"cpu/cpu.cfs_period_us": "100000", "cpuset/cpuset.cpus": "0", "cpuset/cpuset.mems": "0", "pids/pids.max": "32",
		"devices/devices.list": "c 1:3 rwm",
	}
	if lay.mode == "v2" {
		want = map[string]string{
			"memory/memory.max": "67108864", "cpu/cpu.weight": u64(cgroup2.ConvertCPUSharesToCgroupV2Value(512)), "cpu/cpu.max": "50000 100000",
			"cpuset/cpuset.cpus": "0", "cpuset/cpuset.mems": "0", "pids/pids.max": "32",
		}
	}
	for k, v := range want {
		ctrl, file, _ := strings.Cut(k, "/")
		if got := readCg(t, ctrlDir(lay, ctrl, path), file); got != v {
			t.Errorf("%s = %q, want %q", file, got, v)
		}
	}

	// The device rules at work: /dev/zero is denied, /dev/null allowed.
	for dev, allowed := range map[string]bool{"/dev/zero": false, "/dev/null": true} {
		pr := startHeld(t, "exec head -c1 "+dev)
		if err := m.Apply(pr.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		pr.release(t)
		if err := pr.wait(t, 5*time.Second); (err == nil) != allowed {
			t.Errorf("open %s in the cgroup: exit %v, want allowed=%v", dev, err, allowed)
		}
	}
}

func TestIntegrationLifecycle(t *testing.T) {
	lay := host(t)
	parent := testParent(t, lay)
	// A parent that exists before New must survive Delete.
	for _, mnt := range lay.mounts() {
		if err := os.Mkdir(mnt+parent, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = unix.Rmdir(mnt + parent) })
	}
	path := parent + "/life"
	rec := &stepLog{}
	m, err := New(path, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](64 << 20)}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var wantCreated []string
	for _, mnt := range lay.mounts() {
		wantCreated = append(wantCreated, mnt+path)
	}
	if got := m.Created(); !slices.Equal(got, wantCreated) {
		t.Errorf("Created = %v, want %v", got, wantCreated)
	}

	busy := startHeld(t, `exec sh -c "while :; do :; done"`)
	sleeper := startHeld(t, "exec sleep 1000")
	for _, pr := range []*proc{busy, sleeper} {
		if err := m.Apply(pr.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		pr.release(t)
	}
	pid := busy.cmd.Process.Pid
	ctrls, cgPath := "memory", path
	if lay.mode == "v2" {
		ctrls = ""
	}
	if !inCgroup(t, pid, ctrls, cgPath) {
		t.Errorf("pid %d not in %s", pid, path)
	}
	if lay.mode == "hybrid" && !inCgroup(t, pid, "", cgPath) {
		t.Errorf("pid %d not in the cgroup2 side of %s", pid, path)
	}
	procs, err := m.Procs()
	if err != nil || !slices.Equal(procs, []int{min(pid, sleeper.cmd.Process.Pid), max(pid, sleeper.cmd.Process.Pid)}) {
		t.Errorf("Procs = %v, %v", procs, err)
	}

	var st *Stats
	if !eventually(func() bool { st, err = m.Stats(); return err == nil && st.CPU.UsageNs > 0 && st.Memory.Usage > 0 }) {
		t.Errorf("Stats = %+v, %v; want cpu and memory usage", st, err)
	}
	if st.Memory.Limit != 64<<20 || st.Pids.Current != 2 {
		t.Errorf("Stats = %+v; want memory limit 64MiB and 2 pids", st)
	}

	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	checkFrozen(t, lay, m, path, true)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	checkFrozen(t, lay, m, path, false)

	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pr := range []*proc{busy, sleeper} {
		if err := pr.wait(t, 5*time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("after Kill: %v, want killed", err)
		}
	}
	if err := m.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, d := range wantCreated {
		if _, err := os.Lstat(d); !os.IsNotExist(err) {
			t.Errorf("%s survived Delete", d)
		}
	}
	for _, mnt := range lay.mounts() {
		if _, err := os.Lstat(mnt + parent); err != nil {
			t.Errorf("pre-existing %s was removed: %v", mnt+parent, err)
		}
	}
	t.Logf("steps:\n%s", strings.Join(rec.steps, "\n"))
}

func checkFrozen(t *testing.T, lay *layout, m Manager, path string, want bool) {
	t.Helper()
	if got, err := m.Frozen(); err != nil || got != want {
		t.Errorf("Frozen = %v, %v; want %v", got, err, want)
	}
	if lay.mode == "v2" {
		ev := readCg(t, lay.unified+path, "cgroup.events")
		if strings.Contains(ev, "frozen 1") != want {
			t.Errorf("cgroup.events = %q, want frozen=%v", ev, want)
		}
		return
	}
	state, wantState := readCg(t, lay.v1["freezer"]+path, "freezer.state"), map[bool]string{true: "FROZEN", false: "THAWED"}[want]
	if state != wantState {
		t.Errorf("freezer.state = %q, want %q", state, wantState)
	}
}

// Kill with a signal other than SIGKILL goes through freeze, signal each, thaw.
func TestIntegrationKillTerm(t *testing.T) {
	lay := host(t)
	m, err := New(testParent(t, lay)+"/term", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete() })
	pr := startHeld(t, "exec sleep 1000")
	if err := m.Apply(pr.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pr.release(t)
	if err := m.Kill(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := pr.wait(t, 5*time.Second); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("after Kill(SIGTERM): %v", err)
	}
	if frozen, err := m.Frozen(); err != nil || frozen {
		t.Errorf("left frozen after Kill: %v %v", frozen, err)
	}
}

func TestIntegrationLoadDelete(t *testing.T) {
	lay := host(t)
	path := testParent(t, lay) + "/a/b"
	m, err := New(path, &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](10)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Created()); n != 3*len(lay.mounts()) {
		t.Errorf("created %d dirs, want 3 per hierarchy", n)
	}
	state, _ := json.Marshal(m.Created()) // what the runtime persists
	var created []string
	if err := json.Unmarshal(state, &created); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path, created, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, hasPids := lay.v1["pids"]; hasPids || lay.mode == "v2" {
		if err := m2.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: p[int64](20)}}); err != nil {
			t.Fatal(err)
		}
		if got := readCg(t, ctrlDir(lay, "pids", path), "pids.max"); got != "20" {
			t.Errorf("pids.max after update = %q", got)
		}
	}
	if err := m2.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	m3, err := Load(path, created, nil)
	if err != nil {
		t.Fatalf("Load of a deleted cgroup: %v", err)
	}
	if _, err := m3.Stats(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stats of a deleted cgroup = %v, want ErrNotExist", err)
	}
	if err := m3.Delete(); err != nil {
		t.Errorf("Delete of a deleted cgroup: %v", err)
	}
	if _, err := Load(path, []string{"/etc"}, nil); !errors.Is(err, ErrPath) {
		t.Errorf("Load with a foreign dir = %v, want ErrPath", err)
	}
}

func TestIntegrationUnsupported(t *testing.T) {
	lay := host(t)
	parent := testParent(t, lay)
	cases := map[string]*specs.LinuxResources{}
	if lay.mode == "v2" {
		cases["network"] = &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: p[uint32](0x100001)}}
	} else {
		cases["unified"] = &specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}}
	}
	if _, ok := lay.v1["hugetlb"]; !ok && (lay.mode != "v2" || !strings.Contains(readCg(t, lay.unified, "cgroup.controllers"), "hugetlb")) {
		cases["hugetlb"] = &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}}}
	} else {
		t.Log("host has hugetlb: its unsupported case is not exercised here")
	}
	for name, r := range cases {
		m, err := New(parent+"/"+name, r, nil)
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), name) {
			t.Errorf("New with %s = %v, want ErrUnsupported naming it", name, err)
		}
		if m != nil {
			t.Errorf("New with %s returned a manager", name)
		}
	}
}
