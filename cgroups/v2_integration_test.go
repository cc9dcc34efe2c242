//go:build integration

package cgroups

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// On a hybrid host the cgroup2 mount at /sys/fs/cgroup/unified is a real, if nearly
// controller-less, v2 hierarchy: this drives the v2 manager there, so its code runs on
// every machine, not only in the v2 VM. (On a v2 host the other tests cover it.)
func TestIntegrationV2ManagerOnHybridUnified(t *testing.T) {
	lay := host(t)
	if lay.mode != "hybrid" {
		t.Skipf("host is %s; TestIntegrationLifecycle already runs the v2 manager there", lay.mode)
	}
	v2lay := &layout{mode: "v2", unified: lay.unified}
	path := testParent(t, v2lay) + "/v2"
	rec := &stepLog{}

	// Only hugetlb is available in this cgroup2 mount; memory must be refused by name.
	_, err := newV2(newBase(path, v2lay, rec), &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p[int64](1 << 20)}})
	if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "memory controller is not available") {
		t.Errorf("memory limit without the memory controller = %v", err)
	}

	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: true, Type: "c", Major: p[int64](1), Minor: p[int64](3), Access: "rwm"},
	}}
	root := readCg(t, lay.unified, "cgroup.controllers")
	if strings.Contains(root, "hugetlb") && exists("/sys/kernel/mm/hugepages/hugepages-2048kB") {
		r.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}
	}
	m, err := newV2(newBase(path, v2lay, rec), r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Delete(); err != nil {
			t.Error(err)
		}
	})
	dir := lay.unified + path
	if r.HugepageLimits != nil {
		if got := readCg(t, dir, "hugetlb.2MB.max"); got != "8388608" {
			t.Errorf("hugetlb.2MB.max = %q", got)
		}
	}

	// eBPF device filter: /dev/zero denied, /dev/null allowed.
	for dev, allowed := range map[string]bool{"/dev/zero": false, "/dev/null": true} {
		pr := startHeld(t, "exec head -c1 "+dev)
		if err := m.Apply(pr.cmd.Process.Pid); err != nil {
			t.Fatal(err)
		}
		pr.release(t)
		if err := pr.wait(t, 5*time.Second); (err == nil) != allowed {
			t.Errorf("open %s in the v2 cgroup: exit %v, want allowed=%v", dev, err, allowed)
		}
	}

	busy := startHeld(t, `exec sh -c "while :; do :; done"`)
	pid := busy.cmd.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	busy.release(t)
	if !inCgroup(t, pid, "", path) {
		t.Errorf("pid %d not in %s", pid, path)
	}
	if procs, err := m.Procs(); err != nil || !slices.Equal(procs, []int{pid}) {
		t.Errorf("Procs = %v, %v", procs, err)
	}
	var st *Stats
	if !eventually(func() bool { st, err = m.Stats(); return err == nil && st.CPU.UsageNs > 0 }) {
		t.Errorf("Stats = %+v, %v; want cpu usage", st, err)
	}
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	checkFrozen(t, v2lay, m, path, true)
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	checkFrozen(t, v2lay, m, path, false)
	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := busy.wait(t, 5*time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("after Kill: %v", err)
	}
	t.Logf("steps:\n%s", strings.Join(rec.steps, "\n"))
}

// TestIntegrationTiming measures what a container create and delete pay here.
func TestIntegrationTiming(t *testing.T) {
	lay := host(t)
	parent := testParent(t, lay)
	const n = 30
	var tNew, tDel, best time.Duration
	best = time.Hour
	for i := range n {
		path := parent + "/t" + u64(uint64(i))
		t0 := time.Now()
		m, err := New(path, limitsSpec(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := m.Delete(); err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		tNew += t1.Sub(t0)
		tDel += t2.Sub(t1)
		best = min(best, t2.Sub(t0))
	}
	t.Logf("%s, %d hierarchies, typical spec, mean of %d: New %v, Delete %v, New+Delete %v (best %v)",
		lay.mode, len(lay.mounts()), n, tNew/n, tDel/n, (tNew+tDel)/n, best)
}

func BenchmarkNewDelete(b *testing.B) {
	if _, err := hostLayout(); err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		m, err := New("/hullbench-"+u64(uint64(i)), limitsSpec(), nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Delete(); err != nil {
			b.Fatal(err)
		}
	}
}
