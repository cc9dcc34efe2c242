// Command supbench measures the supervisor (make bench runs it through ../supervisor.sh):
//
//   - crash → replacement running: kill -9 a replica, time until the supervisor reports its
//     replacement running (backoff initial 0), N times; p50 and p99.
//   - `hull up -d` of 100 replicas: until all run; the daemon's RSS then.
//   - per-replica host overhead: the processes hull keeps per container (none: no shim, no
//     conmon; the containers are the daemon's children) plus the daemon's marginal PSS per replica.
//
// It runs a private daemon (own socket, state, runtime root) whose network namespace is one it
// made, and removes everything at the end. Root only.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hullrt/hull/supervisor"
)

var (
	hull    = flag.String("hull", "bin/hull", "hull binary")
	crashes = flag.Int("crashes", 50, "crash → replacement samples")
	scale   = flag.Int("replicas", 100, "replicas for the up benchmark")
)

type bench struct {
	dir, ns, project string
	flags            []string
	daemon           *exec.Cmd
	client           *supervisor.Client
}

func main() {
	flag.Parse()
	b, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supbench:", err)
		os.Exit(1)
	}
	err = b.run()
	b.teardown()
	if err != nil {
		fmt.Fprintln(os.Stderr, "supbench:", err)
		os.Exit(1)
	}
}

func setup() (*bench, error) {
	dir, err := os.MkdirTemp("", "hull-supbench-")
	if err != nil {
		return nil, err
	}
	b := &bench{dir: dir, ns: fmt.Sprintf("hullsupbench-%d", os.Getpid()), project: fmt.Sprintf("supbench%d", os.Getpid())}
	b.flags = []string{"--root", filepath.Join(dir, "run"), "--socket", filepath.Join(dir, "hull.sock"),
		"--data-dir", filepath.Join(dir, "data"), "--network-dir", filepath.Join(dir, "networks")}
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return b, err
		}
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(root, "bin/busybox")).CombinedOutput(); err != nil {
		return b, fmt.Errorf("busybox: %v %s", err, out)
	}
	for _, n := range []string{"sh", "sleep"} {
		_ = os.Symlink("busybox", filepath.Join(root, "bin", n))
	}
	if out, err := exec.Command("ip", "netns", "add", b.ns).CombinedOutput(); err != nil {
		return b, fmt.Errorf("ip netns add: %v %s", err, out)
	}
	cmd := exec.Command("nsenter", append([]string{"--net=/run/netns/" + b.ns, *hull}, append(b.flags, "daemon")...)...)
	logf, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return b, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return b, err
	}
	b.daemon = cmd
	b.client = supervisor.NewClient(filepath.Join(dir, "hull.sock"))
	for i := 0; i < 500; i++ {
		if b.client.Ping(context.Background()) == nil {
			return b, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return b, fmt.Errorf("the daemon did not start (see %s)", logf.Name())
}

func (b *bench) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = b.client.Down(ctx, b.project)
	if b.daemon != nil {
		_ = b.daemon.Process.Signal(syscall.SIGTERM)
		_ = b.daemon.Wait()
	}
	_ = exec.Command("ip", "netns", "del", b.ns).Run()
	if os.Getenv("KEEP") == "" {
		os.RemoveAll(b.dir)
	}
}

func (b *bench) up(body string) error {
	f := filepath.Join(b.dir, "compose.yaml")
	if err := os.WriteFile(f, []byte("name: "+b.project+"\n"+body), 0o600); err != nil {
		return err
	}
	out, err := exec.Command(*hull, append(b.flags, "up", "-d", "-f", f)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("up: %v %s", err, out)
	}
	return nil
}

func (b *bench) running(svc string) (int, []supervisor.ReplicaStatus, error) {
	in, err := b.client.Inspect(context.Background(), b.project+"/"+svc)
	if err != nil {
		return 0, nil, err
	}
	return in.Running, in.Replicas, nil
}

func (b *bench) waitRunning(svc string, n int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if r, _, err := b.running(svc); err == nil && r == n {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("%s: %d replicas not running after %v", svc, n, limit)
}

func (b *bench) run() error {
	// 1. crash → replacement running.
	if err := b.up("services:\n  crashy:\n    image: " + filepath.Join(b.dir, "rootfs") +
		"\n    command: [/bin/sleep, '100000']\n    restart: always\n    x-hull: {network: none, backoff: {initial: 0s}}\n"); err != nil {
		return err
	}
	if err := b.waitRunning("crashy", 1, 30*time.Second); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	starts := make(chan supervisor.Event, 64)
	go func() {
		_ = b.client.Events(ctx, func(m json.RawMessage) error {
			var e supervisor.Event
			if json.Unmarshal(m, &e) == nil && e.Type == "start" && e.Service == "crashy" {
				starts <- e
			}
			return nil
		})
	}()
	time.Sleep(100 * time.Millisecond)
	for len(starts) > 0 {
		<-starts // the first start, replayed
	}
	var crash []float64
	for i := 0; i < *crashes; i++ {
		_, reps, err := b.running("crashy")
		if err != nil || len(reps) == 0 || reps[0].Pid == 0 {
			cancel()
			return fmt.Errorf("no replica to crash: %v", err)
		}
		t0 := time.Now()
		if err := syscall.Kill(reps[0].Pid, syscall.SIGKILL); err != nil {
			cancel()
			return err
		}
		select {
		case e := <-starts:
			crash = append(crash, float64(e.Time.Sub(t0).Microseconds())/1000)
		case <-time.After(10 * time.Second):
			cancel()
			return fmt.Errorf("no replacement after 10 s")
		}
		if err := b.waitRunning("crashy", 1, 10*time.Second); err != nil {
			cancel()
			return err
		}
	}
	cancel()
	emit("crash to replacement running (backoff 0)", "ms", crash)

	// 2. up of N replicas, then the daemon's memory.
	pssBefore := pss(b.daemon.Process.Pid)
	t0 := time.Now()
	if err := b.up(fmt.Sprintf("services:\n  many:\n    image: %s\n    command: [/bin/sleep, '100000']\n    restart: always\n    deploy: {replicas: %d}\n    x-hull: {network: none}\n",
		filepath.Join(b.dir, "rootfs"), *scale)); err != nil {
		return err
	}
	if err := b.waitRunning("many", *scale, 5*time.Minute); err != nil {
		return err
	}
	upTook := float64(time.Since(t0).Milliseconds())
	emit(fmt.Sprintf("up -d of %d replicas until all run", *scale), "ms", []float64{upTook})
	time.Sleep(500 * time.Millisecond)
	rss := status(b.daemon.Process.Pid, "VmRSS:") / 1024
	emit(fmt.Sprintf("daemon RSS with %d replicas", *scale+1), "MB", []float64{round(rss)})

	// 3. per-replica host overhead.
	// A per-container monitor lives as long as its container: a hull process seen now and
	// still there a second later. (A short-lived hull CLI call caught in passing is not one.)
	seen := hullProcesses(*hull, b.daemon.Process.Pid)
	time.Sleep(time.Second)
	var shims []int
	for _, p := range hullProcesses(*hull, b.daemon.Process.Pid) {
		if slices.Contains(seen, p) {
			shims = append(shims, p)
		}
	}
	perShim := 0.0
	for _, p := range shims {
		perShim += pss(p) / 1024
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		fmt.Printf("  long-lived hull process %d: %s\n", p, strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	marginal := (pss(b.daemon.Process.Pid) - pssBefore) / 1024 / float64(*scale)
	fmt.Printf("processes hull keeps per container: %d (conmon: 1 × 0.4 MB PSS; containerd-shim: 1 × ≈10 MB RSS)\n", len(shims)/max(*scale, 1))
	emit("per-replica host processes (PSS)", "MB", []float64{round(perShim / float64(*scale))})
	emit("daemon marginal PSS per replica", "MB", []float64{round(marginal)})
	return nil
}

// hullProcesses lists processes running the hull binary other than the daemon: a per-container
// shim or monitor, if hull had one.
func hullProcesses(bin string, daemon int) []int {
	want, _ := filepath.EvalSymlinks(bin)
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == daemon {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == want {
			out = append(out, pid)
		}
	}
	return out
}

// pss is a process's proportional set size in kB (smaps_rollup).
func pss(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "Pss:" {
			v, _ := strconv.ParseFloat(fs[1], 64)
			return v
		}
	}
	return 0
}

func status(pid int, key string) float64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if fs := strings.Fields(l); len(fs) >= 2 && fs[0] == key {
			v, _ := strconv.ParseFloat(fs[1], 64)
			return v
		}
	}
	return 0
}

func round(v float64) float64 { return float64(int(v*1000+0.5)) / 1000 }

// emit prints a summary line and appends a JSON line to $BENCH_OUT.
func emit(name, unit string, samples []float64) {
	s := slices.Clone(samples)
	slices.Sort(s)
	q := func(p float64) float64 { return s[min(len(s)-1, int(p*float64(len(s))))] }
	if len(s) > 1 {
		fmt.Printf("%-45s p50 %8.2f %s   p99 %8.2f %s   (n=%d)\n", name, q(0.5), unit, q(0.99), unit, len(s))
	} else {
		fmt.Printf("%-45s %8.3f %s\n", name, s[0], unit)
	}
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		return
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_ = json.NewEncoder(f).Encode(map[string]any{"area": "supervisor", "case": name, "tool": "hull", "unit": unit, "samples": samples})
}
