//go:build integration

package test

import (
	"os"
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
