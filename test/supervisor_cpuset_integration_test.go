//go:build integration

package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// replicaCpuset reads a replica's cpuset as the kernel applies it: cpuset.cpus on v1,
// cpuset.cpus.effective on v2.
func replicaCpuset(t *testing.T, id string) string {
	t.Helper()
	for _, f := range []string{
		filepath.Join("/sys/fs/cgroup/cpuset/hull", id, "cpuset.cpus"),
		filepath.Join("/sys/fs/cgroup/hull", id, "cpuset.cpus.effective"),
	} {
		if b, err := os.ReadFile(f); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("no cpuset cgroup for %s", id)
	return ""
}

// cpusAllowed is what the scheduler lets a process run on (/proc/PID/status).
func cpusAllowed(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// x-hull placement pins replicas with cpusets the runtime applies: binpack puts two half-CPU
// replicas on one CPU, spread puts a service's replicas on different CPUs; the cgroups go
// with the replicas.
func TestSupervisorCpusetPlacement(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("spreading needs 2 CPUs; this host has 1")
	}
	s := newStack(t)
	packed := `
services:
  packed:
    image: ./rootfs
    command: ["/bin/webd"]
    x-hull: {network: none, placement: binpack}
    deploy:
      replicas: 2
      resources: {reservations: {cpus: "0.5"}}
`
	s.mustHull("up", "-d", "-f", s.compose("compose.yaml", packed))
	s.eventually("2 packed", 30*time.Second, func() bool { return len(s.running("packed", false)) == 2 })
	// spread after packed: placement counts the pinned replicas already there.
	s.mustHull("up", "-d", "-f", s.compose("compose.yaml", packed+`
  spread:
    image: ./rootfs
    command: ["/bin/webd"]
    x-hull: {network: none, placement: spread}
    deploy: {replicas: 2}
`))
	s.eventually("2 spread", 30*time.Second, func() bool { return len(s.running("spread", false)) == 2 })
	var ids []string
	got := map[string][]string{}
	for _, svc := range []string{"packed", "spread"} {
		for _, r := range s.running(svc, false) {
			cg := replicaCpuset(t, r.ID)
			if r.CPUs == "" || cg != r.CPUs || cpusAllowed(t, r.Pid) != r.CPUs {
				t.Errorf("%s: ps says cpus %q, cgroup %q, process allowed %q", r.ID, r.CPUs, cg, cpusAllowed(t, r.Pid))
			}
			got[svc] = append(got[svc], cg)
			ids = append(ids, r.ID)
		}
	}
	t.Logf("cpusets: %v", got)
	if p := got["packed"]; len(p) != 2 || p[0] != p[1] || strings.ContainsAny(p[0], ",-") {
		t.Errorf("binpack: %v, want both on one CPU", p)
	}
	if sp := got["spread"]; len(sp) != 2 || sp[0] == sp[1] {
		t.Errorf("spread: %v, want two CPUs", sp)
	}
	s.mustHull("down", "-p", s.project)
	for _, id := range ids {
		if d := cgroupDirs(filepath.Join("hull", id)); len(d) > 0 {
			t.Errorf("cgroups of %s left: %v", id, d)
		}
	}
}

// A replica burning a CPU makes its autoscaled service (target 50 % of one CPU) scale up,
// with an autoscale event that says why.
func TestSupervisorAutoscaleUp(t *testing.T) {
	s := newStack(t)
	s.mustHull("up", "-d", "-f", s.compose("compose.yaml", `
services:
  burn:
    image: ./rootfs
    command: ["/bin/sh", "-c", "while :; do :; done"]
    stop_grace_period: 1s # sh as pid 1 ignores SIGTERM
    x-hull:
      network: none
      autoscale: {min: 1, max: 2, target_cpu: 50%, interval: 500ms, window: 30s}
`))
	t0 := time.Now()
	s.eventually("scaled up to 2", 20*time.Second, func() bool { return len(s.running("burn", false)) == 2 })
	t.Logf("scaled up after %s", time.Since(t0))
	// `hull events` streams: the recent ones come first, then it is stopped.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, _ := exec.CommandContext(ctx, hullBin, append(append([]string{}, s.flags...), "events")...).Output()
	out := string(b)
	t0 = time.Now()
	s.mustHull("down", "-p", s.project)
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("down took %s: the service's 1s stop_grace_period was not used", d)
	}
	if !strings.Contains(out, "autoscale") || !strings.Contains(out, "1 → 2 replicas: cpu ") {
		t.Errorf("no autoscale event with its reason:\n%s", out)
	}
}
