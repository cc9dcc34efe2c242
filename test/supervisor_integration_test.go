//go:build integration

package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hullrt/hull/runtime/initbin"
	"github.com/hullrt/hull/supervisor"
)

// The supervisor end to end: a real `hull daemon` in a network namespace the test made (its
// project network's bridge and nftables rules live there), real containers of a tiny HTTP server
// built from test/images/httpd, driven through the CLI.

// stack is one test's daemon: its own socket, state, runtime root and data dir.
type stack struct {
	t       *testing.T
	dir     string
	netns   string
	project string
	daemon  *exec.Cmd
	flags   []string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	dir := t.TempDir()
	// HULL_TEST_HTTPD: a prebuilt test/images/httpd (the VM lane has no Go toolchain).
	httpdBin := os.Getenv("HULL_TEST_HTTPD")
	if httpdBin == "" {
		httpdBin = filepath.Join(dir, "httpd")
		build := exec.Command("go", "build", "-o", httpdBin, "./images/httpd")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build httpd: %v %s", err, out)
		}
	}
	s := &stack{t: t, dir: dir, project: fmt.Sprintf("sup%d%s", os.Getpid()%100000, strings.ToLower(t.Name()[len(t.Name())-3:])),
		netns: fmt.Sprintf("hullsup-%d", os.Getpid())}
	s.flags = []string{"--root", filepath.Join(dir, "run"), "--socket", filepath.Join(dir, "hull.sock"),
		"--data-dir", filepath.Join(dir, "data"), "--network-dir", filepath.Join(dir, "networks"),
		"--image-dir", filepath.Join(dir, "images")}
	if out, err := exec.Command("cp", "-a", rootfsSource, filepath.Join(dir, "rootfs")).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	// Not /bin/httpd: that is a symlink to busybox (its own httpd applet), and cp would follow it.
	if out, err := exec.Command("cp", httpdBin, filepath.Join(dir, "rootfs/bin/webd")).CombinedOutput(); err != nil {
		t.Fatalf("copy httpd: %v %s", err, out)
	}
	if out, err := exec.Command("ip", "netns", "add", s.netns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	// A host has its loopback up: published ports answer on 127.0.0.1 there.
	if out, err := exec.Command("ip", "-n", s.netns, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v %s", err, out)
	}
	t.Cleanup(s.cleanup)
	s.startDaemon()
	return s
}

// hull runs the CLI against this stack's daemon.
func (s *stack) hull(args ...string) (string, string, error) {
	cmd := exec.Command(hullBin, append(append([]string{}, s.flags...), args...)...)
	cmd.Dir = s.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (s *stack) mustHull(args ...string) string {
	s.t.Helper()
	out, errOut, err := s.hull(args...)
	if err != nil {
		s.t.Fatalf("hull %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (s *stack) startDaemon() {
	s.t.Helper()
	logf, err := os.OpenFile(filepath.Join(s.dir, "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer logf.Close()
	// nsenter joins only the network namespace (ip netns exec would also remount /sys, hiding
	// the cgroup filesystems).
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + s.netns, hullBin}, append(append([]string{}, s.flags...), "daemon")...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.daemon = cmd
	s.eventually("the daemon answers", 10*time.Second, func() bool {
		_, _, err := s.hull("service", "ls")
		return err == nil
	})
}

// kill9 kills the daemon as a crash would.
func (s *stack) kill9() {
	s.t.Helper()
	_ = s.daemon.Process.Signal(syscall.SIGKILL)
	_ = s.daemon.Wait()
	s.daemon = nil
}

func (s *stack) cleanup() {
	t := s.t
	if s.daemon == nil {
		s.startDaemon() // a test that ended with the daemon killed: the next one cleans up
	}
	if s.daemon != nil {
		if out, errOut, err := s.hull("down", "-p", s.project); err != nil && !strings.Contains(errOut, "is not up") {
			t.Errorf("down: %v %s%s", err, out, errOut)
		}
		_ = s.daemon.Process.Signal(syscall.SIGTERM)
		_ = s.daemon.Wait()
	}
	var leaks []string
	if ents, _ := os.ReadDir(filepath.Join(s.dir, "run")); len(ents) > 0 {
		for _, e := range ents {
			if e.Name() == filepath.Base(initbin.CacheDir("")) {
				continue // hull's embedded init, kept for the next container (runtime/initbin)
			}
			leaks = append(leaks, "container "+e.Name())
			_ = exec.Command(hullBin, "--root", filepath.Join(s.dir, "run"), "delete", "--force", e.Name()).Run()
		}
	}
	for _, m := range mountsUnder(s.dir) {
		leaks = append(leaks, "mount "+m)
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	for _, h := range hierarchies() {
		ds, _ := filepath.Glob(filepath.Join(h, "hull", s.project+"-*"))
		for _, d := range ds {
			leaks = append(leaks, "cgroup "+d)
			_ = os.Remove(d)
		}
	}
	if out, _ := exec.Command("ip", "netns", "exec", s.netns, "ip", "-o", "link").Output(); strings.Count(string(out), "\n") != 1 {
		leaks = append(leaks, "links: "+string(out))
	}
	if out, _ := exec.Command("ip", "netns", "exec", s.netns, "nft", "list", "tables").Output(); strings.Contains(string(out), "hull") {
		leaks = append(leaks, "nftables: "+string(out))
	}
	_ = exec.Command("ip", "netns", "del", s.netns).Run()
	if t.Failed() || len(leaks) > 0 {
		b, _ := os.ReadFile(filepath.Join(s.dir, "daemon.log"))
		t.Logf("daemon log:\n%s", b)
	}
	if len(leaks) > 0 {
		t.Errorf("left behind: %s", strings.Join(leaks, "; "))
	}
}

func (s *stack) eventually(what string, d time.Duration, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("timed out after %v waiting for: %s", d, what)
}

func (s *stack) compose(name, body string) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	body = "name: " + s.project + "\n" + body
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *stack) ps(svc string) []supervisor.ReplicaStatus {
	s.t.Helper()
	out, _, err := s.hull("service", "ps", "--format", "json", s.project+"/"+svc)
	if err != nil {
		return nil
	}
	var rs []supervisor.ReplicaStatus
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		s.t.Fatalf("ps json: %v %s", err, out)
	}
	return rs
}

// running lists the running (and, with healthy, healthy) replicas by name.
func (s *stack) running(svc string, healthy bool) map[string]supervisor.ReplicaStatus {
	out := map[string]supervisor.ReplicaStatus{}
	for _, r := range s.ps(svc) {
		if r.State == "running" && (!healthy || r.Health == "healthy") {
			out[r.Name] = r
		}
	}
	return out
}

// containers counts the runtime's containers of the project: the ground truth for duplicates.
func (s *stack) containers() []string {
	s.t.Helper()
	out := s.mustHull("list", "--quiet")
	var ids []string
	for _, id := range strings.Fields(out) {
		if strings.HasPrefix(id, s.project+"-") {
			ids = append(ids, id)
		}
	}
	return ids
}

const webService = `
services:
  web:
    image: ./rootfs
    command: ["/bin/webd"]
    restart: always
    stop_grace_period: 2s
    deploy: {replicas: %d}
    x-hull:
      backoff: {initial: 300ms}
      probe: {type: http, port: 80, path: /healthz, interval: 200ms, timeout: 1s, retries: 2, start_period: 10s}
`

func TestSupervisorReplacesKilledReplicaAfterBackoff(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", fmt.Sprintf(webService, 2))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("2 healthy replicas", 20*time.Second, func() bool { return len(s.running("web", true)) == 2 })
	victim := s.running("web", true)["web-1"]
	t0 := time.Now()
	if err := syscall.Kill(victim.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var replaced supervisor.ReplicaStatus
	s.eventually("web-1 replaced", 10*time.Second, func() bool {
		r, ok := s.running("web", false)["web-1"]
		replaced = r
		return ok && r.ID != victim.ID
	})
	if took := time.Since(t0); took < 270*time.Millisecond {
		t.Errorf("replaced after %v, before the 300 ms (-10%%) backoff", took)
	}
	if replaced.LastExit == nil || replaced.LastExit.Signal != "SIGKILL" || replaced.Restarts != 1 {
		t.Errorf("last exit %+v restarts %d, want SIGKILL and 1", replaced.LastExit, replaced.Restarts)
	}
	s.eventually("healthy again", 10*time.Second, func() bool { return len(s.running("web", true)) == 2 })
	if n := len(s.containers()); n != 2 {
		t.Errorf("%d containers, want 2", n)
	}
}

func TestSupervisorCrashLoopBacksOffThenGivesUp(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", `
services:
  crash:
    image: ./rootfs
    command: ["/bin/sh", "-c", "echo boom; exit 3"]
    restart: on-failure:3
    x-hull:
      network: none
      backoff: {initial: 200ms, jitter: 0}
`)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("gave up", 15*time.Second, func() bool {
		out, _, _ := s.hull("service", "ls", "--format", "json")
		return strings.Contains(out, "gave up after 3 restarts")
	})
	// The starts are 200, 400, 800 ms apart (each plus the container's own start).
	out, _, _ := s.hull("service", "inspect", s.project+"/crash")
	var in supervisor.Inspection
	if err := json.Unmarshal([]byte(out), &in); err != nil {
		t.Fatal(err)
	}
	if sl := in.Slots[1]; sl == nil || sl.Attempts != 4 || len(sl.Restarts) != 4 {
		t.Fatalf("slot %+v", in.Slots[1])
	} else {
		for i, want := range []time.Duration{200, 400, 800} {
			gap := sl.Restarts[i+1].Sub(sl.Restarts[i])
			if gap < want*time.Millisecond {
				t.Errorf("restart %d came %v after the previous, want ≥ %v ms", i+2, gap, want)
			}
		}
		if sl.LastExit == nil || sl.LastExit.Code != 3 || !sl.LastExit.Known {
			t.Errorf("last exit %+v, want code 3", sl.LastExit)
		}
	}
	ps := s.mustHull("service", "ps", s.project+"/crash")
	if !strings.Contains(ps, "gave up") || !strings.Contains(ps, "exit code 3") {
		t.Errorf("ps does not say it gave up:\n%s", ps)
	}
	logs := s.mustHull("service", "logs", s.project+"/crash")
	if strings.Count(logs, "crash-1 | boom") != 4 {
		t.Errorf("logs: %q", logs)
	}
	time.Sleep(time.Second)
	if n := len(s.containers()); n != 0 {
		t.Errorf("restarted after giving up: %d containers", n)
	}
	// restart clears the gave-up state.
	s.mustHull("service", "restart", s.project+"/crash")
	s.eventually("restarted", 5*time.Second, func() bool {
		out, _, _ := s.hull("service", "logs", s.project+"/crash")
		return strings.Count(out, "boom") > 4
	})
}

func TestSupervisorReplacesUnhealthyReplica(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", `
services:
  web:
    image: ./rootfs
    command: ["/bin/webd"]
    restart: always
    stop_grace_period: 2s
    healthcheck: {test: ["CMD", "/bin/sh", "-c", "test ! -e /tmp/unhealthy"], interval: 300ms, timeout: 2s, retries: 2}
    x-hull: {backoff: {initial: 0s}}
`)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("healthy", 15*time.Second, func() bool { return len(s.running("web", true)) == 1 })
	sick := s.running("web", true)["web-1"]
	if out, err := exec.Command(hullBin, "--root", filepath.Join(s.dir, "run"), "exec", sick.ID, "touch", "/tmp/unhealthy").CombinedOutput(); err != nil {
		t.Fatalf("exec: %v %s", err, out)
	}
	s.eventually("replaced by a healthy one", 15*time.Second, func() bool {
		r, ok := s.running("web", true)["web-1"]
		return ok && r.ID != sick.ID
	})
	if st, err := os.Stat(fmt.Sprintf("/proc/%d", sick.Pid)); err == nil {
		t.Errorf("the unhealthy replica still runs: %v", st.Name())
	}
}

func TestSupervisorSurvivesKill9(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", fmt.Sprintf(webService, 3))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("3 healthy", 20*time.Second, func() bool { return len(s.running("web", true)) == 3 })
	before := s.running("web", true)

	// Steady state: the replicas outlive the daemon and are adopted, not duplicated.
	s.kill9()
	for name, r := range before {
		if err := syscall.Kill(r.Pid, 0); err != nil {
			t.Fatalf("%s died with the daemon: %v", name, err)
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", s.netns, "wget", "-q", "-O-", "http://"+before["web-2"].Address+"/").CombinedOutput(); err != nil || !strings.Contains(string(out), "hello from web-2") {
		t.Errorf("web-2 does not serve while the daemon is dead: %v %s", err, out)
	}
	s.startDaemon()
	s.eventually("adopted", 10*time.Second, func() bool { return len(s.running("web", false)) == 3 })
	for name, r := range s.running("web", false) {
		if before[name].ID != r.ID || before[name].Pid != r.Pid {
			t.Errorf("%s was replaced: %s → %s", name, before[name].ID, r.ID)
		}
	}

	// In the middle of scaling to 6: kill the daemon right after it accepted the change.
	f6 := s.compose("compose6.yaml", fmt.Sprintf(webService, 6))
	s.mustHull("up", "-d", "-f", f6)
	time.Sleep(30 * time.Millisecond)
	s.kill9()
	s.startDaemon()
	s.eventually("6 healthy", 30*time.Second, func() bool { return len(s.running("web", true)) == 6 })
	time.Sleep(500 * time.Millisecond)
	if ids := s.containers(); len(ids) != 6 {
		t.Errorf("want exactly 6 containers, got %v", ids)
	}
	// A replica that dies while no daemon runs is replaced by the next one, status unknown.
	victim := s.running("web", true)["web-4"]
	s.kill9()
	_ = syscall.Kill(victim.Pid, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	s.startDaemon()
	s.eventually("web-4 replaced", 15*time.Second, func() bool {
		r, ok := s.running("web", true)["web-4"]
		return ok && r.ID != victim.ID
	})
	if r := s.running("web", true)["web-4"]; r.LastExit == nil || r.LastExit.Known {
		t.Errorf("the exit of a replica that died unwatched cannot be known: %+v", r.LastExit)
	}
	if ids := s.containers(); len(ids) != 6 {
		t.Errorf("want exactly 6 containers, got %v", ids)
	}
}

func TestSupervisorComposeErrorsChangeNothing(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", fmt.Sprintf(webService, 1))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("running", 20*time.Second, func() bool { return len(s.running("web", false)) == 1 })
	before := s.containers()
	bad := s.compose("bad.yaml", "services:\n  web:\n    image: ./rootfs\n    privileged: true\n    sysctls: {net.core.somaxconn: 1024}\n    deploy: {replicas: 5}\n")
	_, stderr, err := s.hull("up", "-d", "-f", bad)
	if err == nil {
		t.Fatal("a file with unsupported keys was applied")
	}
	if !strings.Contains(stderr, "services.web.privileged") || !strings.Contains(stderr, "services.web.sysctls") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Errorf("want one line naming the keys, got %q", stderr)
	}
	time.Sleep(300 * time.Millisecond)
	if after := s.containers(); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("containers changed: %v → %v", before, after)
	}
	// down leaves nothing (the cleanup's leak check proves it), and says so.
	s.mustHull("down", "-f", f)
	if ids := s.containers(); len(ids) != 0 {
		t.Errorf("left after down: %v", ids)
	}
}
