//go:build integration

package test

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUpdate: flags and a LinuxResources JSON on stdin (Docker's form) change the limits of a
// running container; fields an update leaves out keep their values.
func TestUpdate(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.running("up")
	memFile, quota := "memory.limit_in_bytes", func() string { return x.cgFile("cpu", "cpu.cfs_quota_us") }
	wantQuota := "50000"
	if cgroupV2 {
		memFile, quota = "memory.max", func() string { return x.cgFile("cpu", "cpu.max") }
		wantQuota = "50000 100000"
	}
	x.ok("update", "--memory", "64m", "--pids-limit", "30", "up")
	if m, p := x.cgFile("memory", memFile), x.cgFile("pids", "pids.max"); m != "67108864" || p != "30" {
		t.Fatalf("after flags: %s %s pids.max %s", memFile, m, p)
	}
	r := x.runIn([]byte(`{"memory":{"limit":33554432},"cpu":{"quota":50000,"period":100000}}`), "update", "--resources", "-", "up")
	if r.code != 0 {
		t.Fatalf("update --resources -: %d %s", r.code, r.stderr)
	}
	if m, q, p := x.cgFile("memory", memFile), quota(), x.cgFile("pids", "pids.max"); m != "33554432" || q != wantQuota || p != "30" {
		t.Fatalf("after JSON: %s %s quota %s pids.max %s", memFile, m, q, p)
	}
	if r := x.run("update", "--memory", "lots", "up"); r.code == 0 {
		t.Fatal("update accepted a bad size")
	}
	x.ok("delete", "--force", "up")
	if r := x.run("update", "--memory", "64m", "up"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("update of a deleted container: %d %q", r.code, r.stderr)
	}
}

// TestEvents: --stats prints the cgroup's usage once; the stream reports an OOM kill.
func TestEvents(t *testing.T) {
	// The hog raises its own oom_score_adj so the OOM killer prefers it to pid 1; if it still
	// takes pid 1, events must report the kill anyway (its last sample comes after the exit).
	x := newH(t, "sh", "-c", "sleep 1; (echo 1000 > /proc/self/oom_score_adj; head -c 100m /dev/zero | tail); sleep 1000")
	limit := int64(16 << 20)
	x.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	x.running("ev")
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Memory struct {
				Usage struct{ Limit uint64 } `json:"usage"`
			} `json:"memory"`
			Pids struct{ Current uint64 } `json:"pids"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(x.ok("events", "--stats", "ev")), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "stats" || ev.ID != "ev" || ev.Data.Memory.Usage.Limit != uint64(limit) || ev.Data.Pids.Current == 0 {
		t.Fatalf("events --stats: %+v", ev)
	}
	cmd := x.cmd("events", "--interval", "200ms", "ev")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("events ended without an oom event")
			}
			if strings.Contains(l, `"type":"oom"`) {
				x.ok("delete", "--force", "ev")
				return
			}
		case <-deadline:
			t.Fatal("no oom event within 15 s")
		}
	}
}

// TestEventsReportsOOMThatEndsContainer: when the OOM killer takes pid 1 itself, the container
// ends, and the stream's last sample, taken after the exit, still reports the oom.
func TestEventsReportsOOMThatEndsContainer(t *testing.T) {
	x := newH(t, "sh", "-c", `sleep 1; x=$(head -c 100m /dev/zero | tr '\0' a); sleep 1000`)
	limit := int64(16 << 20)
	x.spec.Linux.Resources.Memory = &specs.LinuxMemory{Limit: &limit}
	x.running("ev1")
	r := x.run("events", "--interval", "5s", "ev1")
	if r.code != 0 || !strings.Contains(r.stdout, `"type":"oom"`) {
		t.Fatalf("events: exit %d, no oom in %q (stderr %q)", r.code, r.stdout, r.stderr)
	}
	x.ok("delete", "ev1")
}
