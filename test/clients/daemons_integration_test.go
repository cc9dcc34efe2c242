//go:build integration

package clients

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hullrt/hull/runtime/initbin"
	"github.com/hullrt/hull/test/internal/hosttest"
)

// result is what one client command did.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
}

// runCmd runs a client command to completion (bounded), with env added to ours.
func runCmd(t *testing.T, env []string, name string, args ...string) result {
	t.Helper()
	return runCmdIn(t, "", env, name, args...)
}

// runCmdIn is runCmd with stdin.
func runCmdIn(t *testing.T, stdin string, env []string, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out\nstdout: %s\nstderr: %s", name, strings.Join(args, " "), stdout.String(), stderr.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// daemon is a long-running server this test started: containerd or dockerd.
type daemon struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when cmd has been waited for
}

// startDaemon starts name with args, its output going to logPath, waits until it accepts
// connections on the unix socket sock, and stops it (by its PID) when the test ends.
func startDaemon(t *testing.T, logPath, sock, name string, args ...string) *daemon {
	t.Helper()
	logF, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logF.Close()
	d := &daemon{name: name, log: logPath, done: make(chan struct{})}
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%v: `make deps` installs containerd and docker.io", err)
	}
	d.cmd = exec.Command(name, args...)
	d.cmd.Stdout, d.cmd.Stderr = logF, logF
	// Its own process group, so a ^C of `go test` reaches the test's cleanup first.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return d
		}
		select {
		case <-d.done:
			t.Fatalf("%s exited at start: %s\n%s", name, d.cmd.ProcessState, d.logTail())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no socket %s after 30s\n%s", name, sock, d.logTail())
		}
	}
}

// stop sends SIGTERM to the daemon's PID and waits; SIGKILL (and a test error) if it hangs.
func (d *daemon) stop(t *testing.T) {
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		t.Errorf("%s did not stop on SIGTERM\n%s", d.name, d.logTail())
	}
}

// logTail is the end of the daemon's log, for failure messages.
func (d *daemon) logTail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return fmt.Sprintf("--- %s log (%s) ---\n%s", d.name, d.log, b)
}

// startContainerd runs a private containerd under dir: its own root, state, socket and no CRI.
func startContainerd(t *testing.T, dir string) (sock string, d *daemon) {
	t.Helper()
	sock = filepath.Join(dir, "containerd.sock")
	config := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = %[3]q
[ttrpc]
  address = "%[3]s.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = %[4]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock, filepath.Join(dir, "opt"))
	cfg := filepath.Join(dir, "containerd.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, filepath.Join(dir, "containerd.log"), sock, "containerd", "--config", cfg)
	return sock, d
}

// leakScope is what one client test may leave on the host: anything under its temp dir
// (processes naming it, mounts), its cgroup parents, state dirs that must end up empty, and
// network links.
type leakScope struct {
	base      string
	cgroups   []string // cgroup parents, e.g. /hulltest-docker-123: must have no children at the end
	stateDirs []string // runtime --root dirs: must have no entries at the end
	// globalDirs are shared host dirs the daemons write to whatever their config: entries
	// that appear during the test must be gone at the end.
	globalDirs []string
	before     map[string]bool
	links      map[string]bool
}

// shimSocketDir is where containerd 1.6 puts every shim's socket, whatever its --state.
const shimSocketDir = "/run/containerd/s"

func dirEntries(dirs []string) map[string]bool {
	m := map[string]bool{}
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			m[filepath.Join(d, e.Name())] = true
		}
	}
	return m
}

// checkLeaksAtEnd records the host's links now and registers a check, run after every cleanup
// registered later (containers, daemons), that fails the test for anything left and clears it.
func checkLeaksAtEnd(t *testing.T, s *leakScope) {
	s.links = linkNames()
	s.before = dirEntries(s.globalDirs)
	t.Cleanup(func() {
		var leaks []string
		for _, pid := range pidsNaming(s.base) {
			leaks = append(leaks, "process "+pid+": "+cmdline(pid))
			if n, err := strconv.Atoi(pid); err == nil {
				_ = syscall.Kill(n, syscall.SIGKILL)
			}
		}
		for _, cg := range s.cgroups {
			for _, pid := range hosttest.PidsInCgroup(cg) {
				leaks = append(leaks, "process in cgroup "+cg+": "+pid+": "+cmdline(pid))
				if n, err := strconv.Atoi(pid); err == nil {
					_ = syscall.Kill(n, syscall.SIGKILL)
				}
			}
		}
		for _, dir := range s.stateDirs {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if e.Name() == filepath.Base(initbin.CacheDir("")) {
					continue // hull's embedded init, kept for the next container (runtime/initbin)
				}
				leaks = append(leaks, "runtime state "+filepath.Join(dir, e.Name()))
			}
		}
		for e := range dirEntries(s.globalDirs) {
			if !s.before[e] {
				leaks = append(leaks, e)
				_ = os.RemoveAll(e)
			}
		}
		mounts := mountsUnder(s.base)
		for _, m := range mounts {
			leaks = append(leaks, "mount "+m)
		}
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
		for _, cg := range s.cgroups {
			dirs := cgroupDirs(cg)
			for _, d := range dirs {
				if d.child {
					leaks = append(leaks, "cgroup "+d.path)
				}
			}
			// Killed processes leave their cgroups a moment later: retry, bounded.
			for try := 0; try < 100 && len(dirs) > 0; try++ {
				for _, d := range dirs {
					_ = os.Remove(d.path)
				}
				if dirs = cgroupDirs(cg); len(dirs) > 0 {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}
		for name := range linkNames() {
			if !s.links[name] {
				leaks = append(leaks, "link "+name)
			}
		}
		if len(leaks) > 0 {
			t.Errorf("left behind:\n  %s", strings.Join(leaks, "\n  "))
		}
	})
}

// pidsNaming lists processes whose command line mentions s (a daemon's or shim's socket, a path).
func pidsNaming(s string) []string {
	var out []string
	self := strconv.Itoa(os.Getpid())
	ents, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range ents {
		pid := filepath.Base(filepath.Dir(f))
		if pid == self {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte(s)) {
			out = append(out, pid)
		}
	}
	return out
}

func cmdline(pid string) string {
	b, _ := os.ReadFile("/proc/" + pid + "/cmdline")
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

type cgroupDir struct {
	path  string
	child bool // below the parent, i.e. a container's cgroup that should be gone
}

// cgroupDirs lists the directories at or below cgroup path p in every hierarchy, deepest first.
func cgroupDirs(p string) []cgroupDir {
	var out []cgroupDir
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	hier = append(hier, "/sys/fs/cgroup")
	for _, h := range hier {
		top := filepath.Join(h, p)
		if fi, err := os.Stat(top); err != nil || !fi.IsDir() || strings.Contains(top, "process_api") {
			continue
		}
		_ = filepath.WalkDir(top, func(path string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				out = append(out, cgroupDir{path: path, child: path != top})
			}
			return nil
		})
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i].path) > len(out[j].path) })
	return out
}

// mountsUnder lists mount points at or below dir in our mount namespace, in mount order.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && (fields[4] == dir || strings.HasPrefix(fields[4], dir+"/")) {
			out = append(out, fields[4])
		}
	}
	return out
}

// mountRootOf returns the "root" field of the mount at mountpoint (for an nsfs mount, the
// namespace it holds, e.g. "net:[4026532181]").
func mountRootOf(mountpoint string) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 4 && fields[4] == mountpoint {
			return fields[3]
		}
	}
	return ""
}

func linkNames() map[string]bool {
	m := map[string]bool{}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		m[i.Name] = true
	}
	return m
}

// readHostFile reads a small host file (a cgroup file) and trims it.
func readHostFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// waitFor polls cond (bounded) and fails the test with what if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shareDir makes a host directory for a bind mount, writable by anyone in the container.
func shareDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "share")
	if err := os.Mkdir(d, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}
