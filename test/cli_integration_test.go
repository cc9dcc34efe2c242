//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The runc command-line contract as podman/conmon, containerd's shim and Docker use it
// (/work/shared/reference/runtime-cli-contract.md). TestLifecycle covers the idempotence rules
// (kill --all and delete --force of a gone container, "container not running", "does not exist").

// runHull runs the binary with exactly args (no --root added) from dir; env nil inherits ours.
func runHull(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	errPath := filepath.Join(t.TempDir(), "err")
	outF, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errF.Close()
	cmd := exec.Command(hullBin, args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, outF, errF
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Run(); err != nil && cmd.ProcessState == nil {
		t.Fatalf("hull %v: %v", args, err)
	}
	stdout, _ := os.ReadFile(out)
	stderr, _ := os.ReadFile(errPath)
	return result{stdout: string(stdout), stderr: string(stderr), code: cmd.ProcessState.ExitCode()}
}

// lastLogError returns the last logrus-style line of a --log-format json file, as the shim reads it.
func lastLogError(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	ls := lines(string(b))
	if len(ls) == 0 {
		t.Fatal("the log file is empty")
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ls[len(ls)-1]), &m); err != nil {
		t.Fatalf("last log line %q is not JSON: %v", ls[len(ls)-1], err)
	}
	return m
}

// TestCLILogJSON: on a failed create, --log FILE --log-format json gets the error as a JSON line
// (the shim shows "OCI runtime create failed: <msg>"), stderr one plain line; both the shim's
// "--log FILE --log-format json" and podman's "--log-format=json --log FILE" forms.
func TestCLILogJSON(t *testing.T) {
	for _, c := range []struct {
		name   string
		flags  func(log string) []string
		mutate func(x *h)
		want   []string
	}{
		{"shim form, missing rootfs",
			func(log string) []string { return []string{"--log", log, "--log-format", "json"} },
			func(x *h) { _ = os.RemoveAll(filepath.Join(x.bundle, "rootfs")) },
			[]string{"rootfs", "no such file or directory"}},
		{"podman form, missing executable",
			func(log string) []string { return []string{"--log-format=json", "--log=" + log} },
			func(x *h) { x.spec.Process.Args = []string{"/nonexistent"} },
			[]string{"/nonexistent", "no such file or directory"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newH(t, "true")
			c.mutate(x)
			x.writeSpec()
			log := filepath.Join(x.bundle, "log.json")
			args := append(c.flags(log), "--root", x.root, "create", "--bundle", x.bundle, "--pid-file", filepath.Join(x.bundle, "init.pid"), "bad")
			r := runHull(t, x.bundle, nil, args...)
			x.refused(r, "create", c.want...)
			if strings.Contains(r.stderr, "{") {
				t.Errorf("stderr is not a plain line: %q", r.stderr)
			}
			m := lastLogError(t, log)
			msg, _ := m["msg"].(string)
			if m["level"] != "error" {
				t.Errorf("level %v, want \"error\"", m["level"])
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("msg %q does not contain %q", msg, w)
				}
			}
			if ts, _ := m["time"].(string); ts == "" {
				t.Errorf("no time in %v", m)
			} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Errorf("time %q: %v", ts, err)
			}
			if _, err := os.Stat(filepath.Join(x.bundle, "init.pid")); err == nil {
				t.Error("a failed create wrote the pid file")
			}
			x.nothingLeft()
		})
	}
}

// TestCLIKillSignalForms: the shims send numeric signals; runc also takes names with and without
// SIG. The init (pid 1 of its namespace) traps TERM and counts what it gets.
func TestCLIKillSignalForms(t *testing.T) {
	x := newH(t, "sh", "-c", `trap 'echo term >>/share/sigs' TERM; touch /share/ready; while :; do sleep 0.05; done`)
	share := x.hostDir("/share")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "sig")
	x.ok("start", "sig")
	waitFile(t, filepath.Join(share, "ready"))
	for i, sig := range []string{"15", "SIGTERM", "TERM", "term"} {
		x.ok("kill", "sig", sig)
		want := i + 1
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(filepath.Join(share, "sigs"))
			if n := len(lines(string(b))); n == want {
				break
			} else if n > want || time.Now().After(deadline) {
				t.Fatalf("after kill %s: %d TERMs received, want %d", sig, n, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if st := x.state("sig"); st["status"] != "running" {
		t.Fatalf("a trapped TERM stopped the container: %v", st["status"])
	}
	x.ok("kill", "sig") // default SIGTERM
	x.ok("kill", "sig", "9")
	x.waitStopped("sig")
	b, _ := os.ReadFile(filepath.Join(share, "sigs"))
	if n := len(lines(string(b))); n < 4 || n > 5 {
		t.Errorf("%d TERMs received in all", n)
	}
	x.ok("delete", "sig")
}

// TestCLIStateListPs: state, list --format json and ps --format json agree with each other and
// with the kernel, for a created and a stopped container.
func TestCLIStateListPs(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "created1")
	x.spec.Process.Args = []string{"true"}
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "stopped1")
	x.ok("start", "stopped1")
	x.waitStopped("stopped1")

	created := x.state("created1")
	pid, _ := created["pid"].(float64)
	if created["ociVersion"] != specs.Version || created["id"] != "created1" || created["status"] != "created" ||
		created["bundle"] != x.bundle || pid <= 0 {
		t.Errorf("state of created1: %v", created)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", int(pid))); err != nil {
		t.Errorf("state pid %d is no process: %v", int(pid), err)
	}
	stopped := x.state("stopped1")
	if stopped["status"] != "stopped" || stopped["pid"] != float64(0) || stopped["id"] != "stopped1" {
		t.Errorf("state of stopped1: %v", stopped)
	}

	if out := x.ok("list", "-q"); out != "created1\nstopped1\n" {
		t.Errorf("list -q = %q", out)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(x.ok("list", "--format", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Fatalf("list --format json has %d entries", len(list))
	}
	for _, c := range list {
		st := map[string]map[string]any{"created1": created, "stopped1": stopped}[c["id"].(string)]
		if st == nil {
			t.Errorf("list has an unknown container %v", c["id"])
			continue
		}
		for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle"} {
			if c[k] != st[k] {
				t.Errorf("list %v: %s = %v, state says %v", c["id"], k, c[k], st[k])
			}
		}
		if ts, _ := c["created"].(string); ts == "" {
			t.Errorf("list %v: no created time", c["id"])
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("list %v: created %q: %v", c["id"], ts, err)
		}
	}
	table := x.ok("list")
	if !strings.HasPrefix(table, "ID") || !strings.Contains(table, "created1") || !strings.Contains(table, "stopped") {
		t.Errorf("list table:\n%s", table)
	}

	var pids []int
	if err := json.Unmarshal([]byte(x.ok("ps", "--format", "json", "created1")), &pids); err != nil {
		t.Fatal(err)
	}
	if len(pids) != 1 || pids[0] != int(pid) {
		t.Errorf("ps --format json of a created container = %v, want [%d]", pids, int(pid))
	}
	if out := strings.TrimSpace(x.ok("ps", "--format", "json", "stopped1")); out != "[]" {
		t.Errorf("ps --format json of a stopped container = %q, want []", out)
	}
	x.ok("delete", "--force", "created1", "stopped1")
	if out := x.ok("list", "-q"); out != "" {
		t.Errorf("list -q after delete = %q", out)
	}
}

// TestCLIDefaultRoot: podman passes no --root, and runs kill/delete from a cleanup process with a
// minimal environment: the state must be under /run/hull whatever the environment says.
func TestCLIDefaultRoot(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	id := fmt.Sprintf("hull-e2e-default-root-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command(hullBin, "delete", "--force", id).Run() })
	podmanCleanupEnv := []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/bin:/usr/sbin:/bin:/sbin:.", "XDG_RUNTIME_DIR="}
	if r := runHull(t, x.bundle, nil, "create", "--bundle", x.bundle, id); r.code != 0 {
		t.Fatalf("create without --root: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join("/run/hull", id, "state.json")); err != nil {
		t.Fatalf("no state under /run/hull: %v", err)
	}
	r := runHull(t, "/", podmanCleanupEnv, "state", id)
	var st map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || st["status"] != "created" {
		t.Fatalf("state without --root: exit %d, %q, %q", r.code, r.stdout, r.stderr)
	}
	if r := runHull(t, "/", podmanCleanupEnv, "list", "-q"); !strings.Contains("\n"+r.stdout, "\n"+id+"\n") {
		t.Errorf("list -q without --root does not show %s: %q", id, r.stdout)
	}
	if r := runHull(t, "/", podmanCleanupEnv, "delete", "--force", id); r.code != 0 {
		t.Fatalf("delete --force without --root: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join("/run/hull", id)); !os.IsNotExist(err) {
		t.Errorf("/run/hull/%s still there after delete: %v", id, err)
	}
}

// TestCLIRelativePaths: --pid-file and --bundle given relative are resolved against the caller's
// cwd (conmon's is not the bundle), and state reports the bundle absolute.
func TestCLIRelativePaths(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	cwd := t.TempDir()
	if err := os.Mkdir(filepath.Join(cwd, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(cwd, x.bundle)
	if err != nil {
		t.Fatal(err)
	}
	r := runHull(t, cwd, nil, "--root", x.root, "create", "--bundle", rel, "--pid-file", "sub/init.pid", "rel")
	if r.code != 0 {
		t.Fatalf("create: exit %d: %s", r.code, r.stderr)
	}
	st := x.state("rel")
	b, err := os.ReadFile(filepath.Join(cwd, "sub", "init.pid"))
	if err != nil {
		t.Fatalf("pid file not at cwd/sub/init.pid: %v", err)
	}
	if pid, err := strconv.Atoi(string(b)); err != nil || float64(pid) != st["pid"] {
		t.Errorf("pid file %q, state pid %v", b, st["pid"])
	}
	if _, err := os.Stat(filepath.Join(x.bundle, "sub", "init.pid")); err == nil {
		t.Error("the pid file was resolved against the bundle")
	}
	if st["bundle"] != x.bundle {
		t.Errorf("state bundle %v, want %s", st["bundle"], x.bundle)
	}
	x.ok("delete", "--force", "rel")
}

// TestCLIConsoleSocket: with process.terminal, create sends the pty master over
// --console-socket (SCM_RIGHTS), and the process's output arrives on it, on a /dev/pts tty.
func TestCLIConsoleSocket(t *testing.T) {
	x := newH(t, "sh", "-c", "echo hi-from-tty; tty; exec sleep 1000")
	x.spec.Process.Terminal = true
	x.writeSpec()
	sock := filepath.Join(t.TempDir(), "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type received struct {
		fd   int
		name string
		err  error
	}
	got := make(chan received, 1)
	go func() {
		c, err := l.AcceptUnix()
		if err != nil {
			got <- received{err: err}
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			got <- received{err: err}
			return
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			got <- received{err: fmt.Errorf("control messages %v: %v", msgs, err)}
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			got <- received{err: fmt.Errorf("rights %v: %v", fds, err)}
			return
		}
		got <- received{fd: fds[0], name: string(buf[:n])}
	}()
	x.ok("create", "--bundle", x.bundle, "--console-socket", sock, "tty")
	var rc received
	select {
	case rc = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("no pty master received on the console socket")
	}
	if rc.err != nil {
		t.Fatalf("console socket: %v", rc.err)
	}
	t.Logf("received a pty master for %q", rc.name)
	if err := unix.SetNonblock(rc.fd, true); err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(rc.fd), "pty master")
	defer master.Close()
	x.ok("start", "tty")
	var out strings.Builder
	_ = master.SetReadDeadline(time.Now().Add(20 * time.Second))
	buf := make([]byte, 1024)
	for !(strings.Contains(out.String(), "hi-from-tty") && strings.Contains(out.String(), "/dev/pts/") && strings.HasSuffix(out.String(), "\n")) {
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	ls := lines(strings.ReplaceAll(out.String(), "\r", ""))
	if len(ls) != 2 || ls[0] != "hi-from-tty" || !strings.HasPrefix(ls[1], "/dev/pts/") {
		t.Errorf("read from the pty master: %q, want \"hi-from-tty\" and a /dev/pts/N line", out.String())
	}
	x.ok("delete", "--force", "tty")
}
