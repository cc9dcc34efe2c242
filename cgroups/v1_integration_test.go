//go:build integration

package cgroups

import (
	"os"
	"strconv"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestIntegrationMemorySwapUpdateV1(t *testing.T) {
	lay := host(t)
	if lay.mode == "v2" {
		t.Skip("memory.memsw.* is cgroup v1; v2 swap is covered by TestV2Writes")
	}
	if !exists(lay.v1["memory"] + "/memory.memsw.limit_in_bytes") {
		t.Skip("kernel without swap accounting: no memory.memsw.limit_in_bytes")
	}
	path := testParent(t, lay) + "/swap"
	mem := func(l, s int64) *specs.LinuxResources {
		return &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: p(l), Swap: p(s)}}
	}
	m, err := New(path, mem(64<<20, 128<<20), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete() })
	for _, r := range []*specs.LinuxResources{mem(256<<20, 512<<20), mem(32<<20, 64<<20)} { // up needs memsw first, down limit first
		if err := m.Set(r); err != nil {
			t.Fatal(err)
		}
		dir := lay.v1["memory"] + path
		if l, s := readCg(t, dir, "memory.limit_in_bytes"), readCg(t, dir, "memory.memsw.limit_in_bytes"); l != strconv.FormatInt(*r.Memory.Limit, 10) || s != strconv.FormatInt(*r.Memory.Swap, 10) {
			t.Errorf("limit, memsw = %s, %s; want %d, %d", l, s, *r.Memory.Limit, *r.Memory.Swap)
		}
	}
}

// A new v1 cpuset cgroup must inherit cpus and mems, or no process can join it.
func TestIntegrationCpusetInheritV1(t *testing.T) {
	lay := host(t)
	if _, ok := lay.v1["cpuset"]; !ok {
		t.Skip("no v1 cpuset hierarchy on this host")
	}
	parent := testParent(t, lay)
	m, err := New(parent+"/cs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete() })
	root := lay.v1["cpuset"]
	checkCpusetsJoinable(t, m, root, root+parent, root+parent+"/cs")
}

// An existing level someone made and left empty (the kernel would refuse its tasks) is filled
// from its parent before the levels New makes under it: inheritCpuset's walk, not its
// shortcut, which reads only the level above the ones it made.
func TestIntegrationCpusetEmptyParentV1(t *testing.T) {
	lay := host(t)
	root, ok := lay.v1["cpuset"]
	if !ok {
		t.Skip("no v1 cpuset hierarchy on this host")
	}
	parent := testParent(t, lay)
	if err := os.Mkdir(root+parent, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(root + parent) }) // not New's to remove
	if got := readCg(t, root+parent, "cpuset.cpus"); got != "" {
		t.Skipf("a new cpuset cgroup starts with cpus %q here (cgroup.clone_children?)", got)
	}
	m, err := New(parent+"/mid/cs", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete() })
	checkCpusetsJoinable(t, m, root, root+parent, root+parent+"/mid", root+parent+"/mid/cs")
}

// checkCpusetsJoinable checks that each of dirs has the cpuset root's cpus and mems, and that
// a process can join m (the kernel refuses one into an empty cpuset) and be killed there.
func checkCpusetsJoinable(t *testing.T, m Manager, root string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if got, want := readCg(t, d, f), readCg(t, root, f); got != want {
				t.Errorf("%s/%s = %q, want the root's %q", d, f, got, want)
			}
		}
	}
	pr := startHeld(t, "exec sleep 1000")
	if err := m.Apply(pr.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if err := m.Kill(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = pr.wait(t, 5*time.Second)
}
