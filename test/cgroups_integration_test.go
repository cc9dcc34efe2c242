//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests read the container's cgroup from the host (cgroup v1 hierarchies under
// /sys/fs/cgroup/<controller>, as on this hybrid host) and from inside the container.

// cgFile reads a file of the test's cgroup in one v1 hierarchy.
func (x *h) cgFile(controller, file string) string {
	x.t.Helper()
	b, err := os.ReadFile(filepath.Join("/sys/fs/cgroup", controller, x.spec.Linux.CgroupsPath, file))
	if err != nil {
		x.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// cgProcs lists the pids in the test's cgroup (memory hierarchy), sorted.
func (x *h) cgProcs() []int {
	x.t.Helper()
	var pids []int
	for _, f := range strings.Fields(x.cgFile("memory", "cgroup.procs")) {
		p, _ := strconv.Atoi(f)
		pids = append(pids, p)
	}
	sort.Ints(pids)
	return pids
}

// waitFor polls cond for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// stop kills a started container and deletes it.
func (x *h) stop(id string) {
	x.t.Helper()
	x.ok("kill", id, "KILL")
	x.waitStopped(id)
	x.ok("delete", id)
}

func i64(v int64) *int64   { return &v }
func u64(v uint64) *uint64 { return &v }

func TestCgroupsLimits(t *testing.T) {
	x := newH(t, "sh", "-c", `cd /sys/fs/cgroup && for f in memory/memory.limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us cpuset/cpuset.cpus pids/pids.max; do echo "$f $(cat $f)"; done`)
	x.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(64 << 20)}
	x.spec.Linux.Resources.CPU = &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000), Period: u64(100000), Cpus: "0", Mems: "0"}
	x.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(20)}
	want := map[string]string{
		"memory/memory.limit_in_bytes": "67108864", "cpu/cpu.shares": "512", "cpu/cpu.cfs_quota_us": "50000",
		"cpu/cpu.cfs_period_us": "100000", "cpuset/cpuset.cpus": "0", "pids/pids.max": "20",
	}
	const id = "limits"
	out := x.create(id)
	for f, v := range want {
		c, file, _ := strings.Cut(f, "/")
		if got := x.cgFile(c, file); got != v {
			t.Errorf("host %s%s/%s = %q, want %q", c, x.spec.Linux.CgroupsPath, file, got, v)
		}
	}
	x.ok("start", id)
	x.waitStopped(id)
	x.ok("delete", id)
	inside := map[string]string{}
	for _, l := range lines(mustRead(t, out)) {
		if k, v, ok := strings.Cut(l, " "); ok {
			inside[k] = v
		}
	}
	for f, v := range want {
		if inside[f] != v {
			t.Errorf("inside /sys/fs/cgroup/%s = %q, want %q (container said:\n%s)", f, inside[f], v, mustRead(t, out))
		}
	}
}

func TestCgroupsForkBomb(t *testing.T) {
	const limit = 16
	// The inner shell forks until fork fails (then ash gives up, or the loop ends); the outer one,
	// pid 1, must survive it.
	x := newH(t, "sh", "-c", `sh -c 'i=0; while [ $i -lt 300 ]; do sleep 100 & i=$((i+1)); done' 2>/dev/null; echo survived; exec sleep 100`)
	x.spec.Linux.Resources.Pids = &specs.LinuxPids{Limit: i64(limit)}
	const id = "forkbomb"
	out := x.create(id)
	x.ok("start", id)
	waitFor(t, 15*time.Second, "the fork bomb to end", func() bool { return strings.Contains(mustRead(t, out), "survived") })
	if got := x.cgFile("pids", "pids.max"); got != strconv.Itoa(limit) {
		t.Errorf("pids.max = %s, want %d", got, limit)
	}
	if n := len(x.cgProcs()); n > limit || n < limit/2 {
		t.Errorf("%d processes in the cgroup, want at most %d (and the bomb to have reached it)", n, limit)
	}
	var hits int
	fmt.Sscanf(x.cgFile("pids", "pids.events"), "max %d", &hits)
	if hits == 0 {
		t.Errorf("pids.events: %q, want fork failures counted", x.cgFile("pids", "pids.events"))
	}
	if x.state(id)["status"] != "running" {
		t.Errorf("the container did not survive its fork bomb: %v", x.state(id)["status"])
	}
	if err := exec.Command("true").Run(); err != nil {
		t.Errorf("the host cannot fork any more: %v", err)
	}
	x.stop(id)
}

// memoryHog makes pid 1 of the container grow without bound: tail keeps a line with no end.
const memoryHog = `mkfifo /tmp/f; head -c 300m /dev/zero >/tmp/f & exec tail </tmp/f`

func memoryLimited(t *testing.T) *h {
	x := newH(t, "sh", "-c", memoryHog)
	x.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: i64(32 << 20)}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"); err == nil {
		x.spec.Linux.Resources.Memory.Swap = i64(32 << 20) // no swapping out of the limit
	}
	return x
}

func TestCgroupsOOMKill(t *testing.T) {
	t.Run("RunExitCode", func(t *testing.T) {
		x := memoryLimited(t)
		if r := x.runContainer("oom"); r.code != 137 {
			t.Errorf("hull run of a memory hog exited %d, want 137 (SIGKILL by the OOM killer); stderr: %s", r.code, r.stderr)
		}
	})
	t.Run("Counters", func(t *testing.T) {
		x := memoryLimited(t)
		const id = "oom-counters"
		x.create(id)
		x.ok("start", id)
		x.waitStopped(id)
		if got := x.cgFile("memory", "memory.limit_in_bytes"); got != "33554432" {
			t.Errorf("memory.limit_in_bytes = %s, want 33554432", got)
		}
		// memory.failcnt stays 0 on this 6.18 kernel even when the limit is hit; the high-water
		// mark reaching the limit and the OOM kill count are what prove it.
		if got := x.cgFile("memory", "memory.max_usage_in_bytes"); got != "33554432" {
			t.Errorf("memory.max_usage_in_bytes = %s, want the limit 33554432", got)
		}
		oc := x.cgFile("memory", "memory.oom_control")
		var kills int
		for _, l := range lines(oc) {
			fmt.Sscanf(l, "oom_kill %d", &kills)
		}
		if kills == 0 {
			t.Errorf("memory.oom_control:\n%s\nwant an oom_kill", oc)
		}
		x.ok("delete", id)
	})
}

func TestCgroupsPauseResume(t *testing.T) {
	x := newH(t, "sleep", "100")
	const id = "pause"
	x.create(id)
	x.ok("start", id)
	x.ok("pause", id)
	if got := x.state(id)["status"]; got != "paused" {
		t.Errorf("after pause, status %v, want paused", got)
	}
	if got := x.cgFile("freezer", "freezer.state"); got != "FROZEN" {
		t.Errorf("after pause, freezer.state %s, want FROZEN", got)
	}
	pid := x.initPid(id)
	if st := procState(t, pid); st != "D" && st != "S" {
		t.Logf("frozen init is in state %s", st)
	}
	x.ok("resume", id)
	if got := x.state(id)["status"]; got != "running" {
		t.Errorf("after resume, status %v, want running", got)
	}
	if got := x.cgFile("freezer", "freezer.state"); got != "THAWED" {
		t.Errorf("after resume, freezer.state %s, want THAWED", got)
	}
	x.stop(id)
}

// procState is the one-letter state of a process from /proc/<pid>/stat.
func procState(t *testing.T, pid int) string {
	s := mustRead(t, fmt.Sprintf("/proc/%d/stat", pid))
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return f[0]
}

func TestCgroupsPsAndDelete(t *testing.T) {
	x := newH(t, "sh", "-c", "sleep 100 & exec sleep 101")
	const id = "ps"
	x.create(id)
	x.ok("start", id)
	waitFor(t, 5*time.Second, "two processes in the cgroup", func() bool { return len(x.cgProcs()) == 2 })
	var pids []int
	if err := json.Unmarshal([]byte(x.ok("ps", "--format", "json", id)), &pids); err != nil {
		t.Fatal(err)
	}
	sort.Ints(pids)
	if want := x.cgProcs(); fmt.Sprint(pids) != fmt.Sprint(want) {
		t.Errorf("ps --format json = %v, want the cgroup's %v", pids, want)
	}
	init := x.initPid(id)
	if len(pids) == 0 || (pids[0] != init && pids[len(pids)-1] != init) {
		t.Errorf("ps does not list the init %d: %v", init, pids)
	}
	dirs := cgroupDirs(x.spec.Linux.CgroupsPath)
	if len(dirs) < 5 {
		t.Errorf("the container has cgroup dirs in only %d hierarchies: %v", len(dirs), dirs)
	}
	x.stop(id)
	if left := cgroupDirs(x.spec.Linux.CgroupsPath); len(left) > 0 {
		t.Errorf("delete left cgroup dirs: %v", left)
	}
}

func TestCgroupsPreexistingPathKept(t *testing.T) {
	x := newH(t, "true")
	x.spec.Linux.CgroupsPath = filepath.Join(cgroupParent, "preexisting")
	var made []string
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range hier {
		if strings.Contains(h, "process_api") {
			continue
		}
		if fi, err := os.Stat(h); err != nil || !fi.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err != nil {
			continue // not a hierarchy
		}
		d := filepath.Join(h, x.spec.Linux.CgroupsPath)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		made = append(made, d)
	}
	t.Cleanup(func() {
		for _, d := range made {
			_ = os.Remove(d)
		}
	})
	const id = "pre"
	x.create(id)
	if pids, pid := x.cgProcs(), x.initPid(id); len(pids) != 1 || pids[0] != pid {
		t.Errorf("the pre-existing cgroup holds %v, want the init %d", pids, pid)
	}
	x.ok("start", id)
	x.waitStopped(id)
	x.ok("delete", id)
	for _, d := range made {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("delete removed the pre-existing cgroup %s", d)
		}
	}
}
