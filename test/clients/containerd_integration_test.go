//go:build integration

package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ctrClient is ctr talking to a private containerd, with the runtime under test as the runc
// binary of the io.containerd.runc.v2 shim (ctr 1.6's default runtime).
type ctrClient struct {
	sock     string
	ns       string // containerd namespace; containers' cgroups are /<ns>/<id>
	runcRoot string // the runtime's --root (ctr's default is /run/containerd/runc/<ns>)
	fifoDir  string // ctr's stdio fifos (default /run/containerd/fifo)
}

func (c *ctrClient) ctr(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, nil, "ctr", append([]string{"-a", c.sock, "-n", c.ns}, args...)...)
}

func (c *ctrClient) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := c.ctr(t, args...)
	if r.code != 0 {
		t.Fatalf("ctr %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// run is `ctr run` with the runtime under test; opts go before the image, argv after the id.
func (c *ctrClient) run(t *testing.T, opts []string, id string, argv ...string) result {
	t.Helper()
	args := append([]string{"run", "--runc-binary", clientRuntime, "--runc-root", c.runcRoot, "--fifo-dir", c.fifoDir}, opts...)
	args = append(args, "docker.io/"+imageRef, id)
	return c.ctr(t, append(args, argv...)...)
}

// detach starts id in the background and removes its task and container when the test ends.
func (c *ctrClient) detach(t *testing.T, opts []string, id string, argv ...string) {
	t.Helper()
	t.Cleanup(func() {
		c.ctr(t, "task", "kill", "--all", "--signal", "SIGKILL", id)
		c.ctr(t, "task", "rm", "--force", id)
		c.ctr(t, "container", "rm", id)
	})
	if r := c.run(t, append([]string{"-d"}, opts...), id, argv...); r.code != 0 {
		t.Fatalf("ctr run -d %s: %s", id, r)
	}
	waitFor(t, id+" running", func() bool { return c.taskStatus(t, id) == "RUNNING" })
}

// taskStatus is the STATUS column of `ctr task ls` for id ("" if there is no task).
func (c *ctrClient) taskStatus(t *testing.T, id string) string {
	t.Helper()
	for _, line := range strings.Split(c.ok(t, "task", "ls"), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

func (c *ctrClient) taskPid(t *testing.T, id string) string {
	t.Helper()
	for _, line := range strings.Split(c.ok(t, "task", "ls"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return f[1]
		}
	}
	t.Fatalf("no task %s", id)
	return ""
}

// TestContainerd drives the runtime under test through ctr and containerd's runc v2 shim, the way
// a Kubernetes node or nerdctl would.
func TestContainerd(t *testing.T) {
	base := t.TempDir()
	ns := fmt.Sprintf("hulltest-%d", os.Getpid())
	c := &ctrClient{ns: ns, runcRoot: filepath.Join(base, "runc"), fifoDir: filepath.Join(base, "fifo")}
	checkLeaksAtEnd(t, &leakScope{base: base, cgroups: []string{"/" + ns},
		stateDirs: []string{filepath.Join(c.runcRoot, ns), c.fifoDir}, globalDirs: []string{shimSocketDir}})
	c.sock, _ = startContainerd(t, base)
	c.ok(t, "images", "import", imageTar)
	t.Cleanup(func() { c.ctr(t, "images", "rm", "docker.io/"+imageRef) })

	t.Run("output and exit code", func(t *testing.T) {
		r := c.run(t, []string{"--rm"}, "out", "sh", "-c", "echo hello; exit 3")
		if r.code != 3 || r.stdout != "hello\n" {
			t.Fatalf("want exit 3 and the greeting, got %s", r)
		}
	})

	// ctr exits 1 for any create failure; docker and podman map the runtime's error text to
	// 127/126, so the text is what matters.
	t.Run("missing command", func(t *testing.T) {
		r := c.run(t, []string{"--rm"}, "missing", "/nonexistent")
		if r.code == 0 || !strings.Contains(r.stderr, `exec: "/nonexistent": stat /nonexistent: no such file or directory`) {
			t.Fatalf("want a create error with runc's \"no such file or directory\", got %s", r)
		}
	})
	t.Run("not executable", func(t *testing.T) {
		r := c.run(t, []string{"--rm"}, "noexec", "/etc/passwd")
		if r.code == 0 || !strings.Contains(r.stderr, `exec: "/etc/passwd": permission denied`) {
			t.Fatalf("want a create error with runc's \"permission denied\", got %s", r)
		}
	})

	t.Run("detached exec ps pause kill", func(t *testing.T) {
		share := shareDir(t)
		c.detach(t, []string{"--mount", "type=bind,src=" + share + ",dst=/out,options=rbind:rw"}, "web",
			"sh", "-c", `trap "echo term > /out/marker; exit 0" TERM; while true; do sleep 0.1; done`)

		r := c.ctr(t, "task", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e1", "--user", "1000", "--cwd", "/tmp", "web", "sh", "-c", "id -u; pwd")
		if r.code != 0 || r.stdout != "1000\n/tmp\n" {
			t.Fatalf("exec -u 1000 --cwd /tmp: want \"1000\\n/tmp\\n\", got %s", r)
		}
		if r := c.ctr(t, "task", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e2", "web", "sh", "-c", "exit 7"); r.code != 7 {
			t.Fatalf("exec exit code: want 7, got %s", r)
		}

		// The runtime under test holds the container: its state is under the --runc-root we gave.
		if _, err := os.Stat(filepath.Join(c.runcRoot, ns, "web")); err != nil {
			t.Fatalf("the runtime under test has no state for web: %v", err)
		}
		pid := c.taskPid(t, "web")
		if ps := c.ok(t, "task", "ps", "web"); !strings.Contains(ps, pid) {
			t.Fatalf("ctr task ps (runtime ps --format json) does not list the init %s:\n%s", pid, ps)
		}
		if m := c.ok(t, "task", "metrics", "web"); !strings.Contains(m, "memory.usage_in_bytes") {
			t.Fatalf("ctr task metrics: no memory usage:\n%s", m)
		}

		c.ok(t, "task", "pause", "web")
		if s := c.taskStatus(t, "web"); s != "PAUSED" {
			t.Fatalf("after pause: status %q", s)
		}
		if f := readHostFile(t, "/sys/fs/cgroup/freezer/"+ns+"/web/freezer.state"); f != "FROZEN" {
			t.Fatalf("after pause: freezer.state %q", f)
		}
		c.ok(t, "task", "resume", "web")
		if s := c.taskStatus(t, "web"); s != "RUNNING" {
			t.Fatalf("after resume: status %q", s)
		}

		c.ok(t, "task", "kill", "--signal", "SIGTERM", "web")
		waitFor(t, "web to stop on SIGTERM", func() bool { return c.taskStatus(t, "web") == "STOPPED" })
		if b, err := os.ReadFile(filepath.Join(share, "marker")); err != nil || string(b) != "term\n" {
			t.Fatalf("the TERM trap did not run: %q %v", b, err)
		}
		c.ok(t, "task", "rm", "web")
		c.ok(t, "container", "rm", "web")
	})

	t.Run("kill all", func(t *testing.T) {
		c.detach(t, nil, "many", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
		c.ok(t, "task", "kill", "--all", "--signal", "SIGKILL", "many")
		waitFor(t, "many to stop", func() bool { return c.taskStatus(t, "many") == "STOPPED" })
		c.ok(t, "task", "rm", "many")
		c.ok(t, "container", "rm", "many")
	})

	// ctr 1.6's run has no --user; exec's --user is tested above.
	t.Run("env cwd read-only tmpfs bind", func(t *testing.T) {
		share := shareDir(t)
		if err := os.WriteFile(filepath.Join(share, "in"), []byte("from host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := c.run(t, []string{"--rm", "--env", "FOO=bar", "--cwd", "/tmp", "--read-only",
			"--mount", "type=tmpfs,src=tmpfs,dst=/scratch,options=mode=1777:size=1m",
			"--mount", "type=bind,src=" + share + ",dst=/data,options=rbind:ro"}, "opts",
			"sh", "-c", `echo FOO=$FOO; pwd; touch /x 2>/dev/null || echo rootfs read-only
touch /scratch/y && echo tmpfs writable; cat /data/in; touch /data/z 2>/dev/null || echo bind read-only`)
		want := "FOO=bar\n/tmp\nrootfs read-only\ntmpfs writable\nfrom host\nbind read-only\n"
		if r.code != 0 || r.stdout != want {
			t.Fatalf("want %q, got %s", want, r)
		}
	})

	t.Run("memory limit", func(t *testing.T) {
		c.detach(t, []string{"--memory-limit", "67108864"}, "mem", "sleep", "1000")
		if got := readHostFile(t, "/sys/fs/cgroup/memory/"+ns+"/mem/memory.limit_in_bytes"); got != "67108864" {
			t.Fatalf("memory.limit_in_bytes %s, want 67108864", got)
		}
	})

	t.Run("oom", func(t *testing.T) {
		r := c.run(t, []string{"--rm", "--memory-limit", "33554432"}, "oom", "tail", "/dev/zero")
		if r.code != 137 {
			t.Fatalf("want 137 (SIGKILL by the OOM killer), got %s", r)
		}
	})
}
