//go:build integration

package clients

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// podmanImage is the busybox image `podman import` makes from busyboxLayer.
const podmanImage = "localhost/hulltest/busybox:podman"

// podman drives the podman CLI on private state: root, runroot, tmpdir, network config and
// containers.conf under base, its containers under cgroupParent, the runtime chosen by path.
type podman struct {
	base, runtime, cgroupParent string
	env                         []string
	seq                         int
}

// newPodman writes the private containers.conf and imports the image. podman decides by the
// runtime's basename whether to pass `--log-format=json --log FILE`: hullBin is named "hull",
// and runtime_supports_json lists it, so hull gets the same argv as runc.
func newPodman(t *testing.T, base string) *podman {
	t.Helper()
	if _, err := exec.LookPath("podman"); err != nil {
		t.Fatal("podman is not installed (make deps)")
	}
	p := &podman{base: base, runtime: clientRuntime, cgroupParent: fmt.Sprintf("/hulltest-podman-%d", os.Getpid())}
	// podman (4.3, as root) gives every container RLIMIT_NOFILE 1048576 and caps its own
	// RLIMIT_NPROC at 32768; without CAP_SYS_RESOURCE (a CI sandbox) any runtime fails to raise
	// them, so ask for limits this process may set.
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[containers]
default_ulimits = ["nofile=%[1]d:%[1]d", "nproc=%[2]d:%[2]d"]
[engine]
runtime_supports_json = ["crun", "runc", "hull"]
volume_path = %[3]q
[engine.runtimes]
hull = [%[4]q]
`, min(nofile.Max, 1<<20), min(nproc.Max, 32768), filepath.Join(base, "volumes"), hullBin)
	cfg := filepath.Join(base, "containers.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	p.env = []string{"CONTAINERS_CONF=" + cfg}
	layer, err := busyboxLayer()
	if err != nil {
		t.Fatal(err)
	}
	tarball := filepath.Join(base, "busybox-rootfs.tar")
	if err := os.WriteFile(tarball, layer, 0o644); err != nil {
		t.Fatal(err)
	}
	p.ok(t, "import", "--quiet", tarball, podmanImage)
	return p
}

// cmdArgs prefixes args with the global flags that keep podman off the host's state.
func (p *podman) cmdArgs(args ...string) []string {
	return append([]string{
		"--root", filepath.Join(p.base, "root"),
		"--runroot", filepath.Join(p.base, "runroot"),
		"--tmpdir", filepath.Join(p.base, "tmp"),
		"--network-config-dir", filepath.Join(p.base, "net"),
		"--storage-driver", "vfs",
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
		"--runtime", p.runtime,
	}, args...)
}

// podman runs one podman command to completion.
func (p *podman) podman(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, p.env, "podman", p.cmdArgs(args...)...)
}

// ok runs podman and fails the test unless it exits 0.
func (p *podman) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := p.podman(t, args...)
	if r.code != 0 {
		t.Fatalf("podman %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// name returns a fresh container name and removes that container (rm -f) when the test ends.
func (p *podman) name(t *testing.T) string {
	p.seq++
	n := fmt.Sprintf("hulltest-%d", p.seq)
	t.Cleanup(func() {
		if r := p.podman(t, "rm", "--force", "--time", "0", "--ignore", n); r.code != 0 {
			t.Errorf("podman rm -f %s: %s", n, r)
		}
	})
	return n
}

// runArgs is `podman run` with the test's container flags, then opts, the image and argv.
func (p *podman) runArgs(name string, opts []string, argv ...string) []string {
	args := []string{"run", "--name", name, "--network", "none", "--cgroup-parent", p.cgroupParent}
	args = append(append(args, opts...), podmanImage)
	return append(args, argv...)
}

// run is `podman run --rm` of argv in a new container.
func (p *podman) run(t *testing.T, opts []string, argv ...string) result {
	t.Helper()
	return p.podman(t, p.runArgs(p.name(t), append([]string{"--rm"}, opts...), argv...)...)
}

// detach starts a container with run -d and returns its name and full id.
func (p *podman) detach(t *testing.T, opts []string, argv ...string) (name, id string) {
	t.Helper()
	name = p.name(t)
	id = strings.TrimSpace(p.ok(t, p.runArgs(name, append([]string{"-d"}, opts...), argv...)...))
	return name, id
}

// inspect reads one field of `podman inspect` with a Go template.
func (p *podman) inspect(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(p.ok(t, "inspect", "--format", format, name))
}

// cgroupFile is a file of the container's cgroup in a v1 hierarchy, on the host.
func (p *podman) cgroupFile(controller, id, file string) string {
	return filepath.Join("/sys/fs/cgroup", controller, p.cgroupParent, "libpod-"+id, file)
}

// runtimeRoot is where the runtime keeps its state when, as with podman, no --root is given.
func (p *podman) runtimeRoot() string {
	return filepath.Join("/run", filepath.Base(p.runtime))
}

func TestPodman(t *testing.T) {
	base := t.TempDir()
	// conmon writes an "oom" marker into its working directory: keep it out of the source tree.
	t.Chdir(base)
	p := newPodman(t, base)
	// Checked last, after every container is removed: nothing under base (processes such as
	// conmon, mounts such as the shm of a container) and no container cgroup under our parent.
	checkLeaksAtEnd(t, &leakScope{base: base, cgroups: []string{p.cgroupParent}})
	// podman passes the runtime no --root (and `podman container cleanup`, which conmon starts
	// at exit, would not pass --runtime-flag root=...): the runtime's default root is shared
	// with the host, so what must be gone from it at the end is whatever appeared meanwhile.
	before := dirNames(p.runtimeRoot())
	t.Cleanup(func() {
		for name := range dirNames(p.runtimeRoot()) {
			if !before[name] {
				t.Errorf("runtime state left in %s: %s", p.runtimeRoot(), name)
			}
		}
	})
	// Registered last, so it runs first: conmon's `podman container cleanup` may still be on
	// its way out; podman never removes the conmon cgroup it makes under our parent.
	t.Cleanup(func() {
		waitGone(base)
		for _, d := range cgroupDirs(p.cgroupParent) {
			if filepath.Base(d.path) == "conmon" {
				_ = os.Remove(d.path)
			}
		}
	})

	t.Run("output and exit code", func(t *testing.T) {
		if r := p.run(t, nil, "echo", "hi"); r.code != 0 || r.stdout != "hi\n" {
			t.Fatalf("run echo hi: want \"hi\\n\", got %s", r)
		}
		if r := p.run(t, nil, "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("run sh -c 'exit 3': want exit 3, got %s", r)
		}
	})

	// podman maps the runtime's error text (runc's wording) to the shell's exit codes.
	t.Run("missing command is 127", func(t *testing.T) {
		r := p.run(t, nil, "/nonexistent")
		if r.code != 127 || !strings.Contains(r.stderr, "no such file or directory") {
			t.Fatalf("want exit 127 with runc's \"no such file or directory\", got %s", r)
		}
	})
	t.Run("not executable is 126", func(t *testing.T) {
		r := p.run(t, nil, "/etc/passwd")
		if r.code != 126 || !strings.Contains(r.stderr, "permission denied") {
			t.Fatalf("want exit 126 with runc's \"permission denied\", got %s", r)
		}
	})

	t.Run("env workdir user", func(t *testing.T) {
		r := p.run(t, []string{"-e", "GREETING=hello world", "-w", "/tmp", "--user", "1000"},
			"sh", "-c", `echo "$GREETING"; pwd; id -u; id -g`)
		// podman takes the group from the image's /etc/passwd: user:x:1000:1000.
		if want := "hello world\n/tmp\n1000\n1000\n"; r.code != 0 || r.stdout != want {
			t.Fatalf("want %q, got %s", want, r)
		}
	})

	// --read-only mounts tmpfs on /run, /tmp and /var/tmp with runc's tmpcopyup option, so
	// they keep what the image has there; --tmpfs uses it too.
	t.Run("read-only and tmpfs", func(t *testing.T) {
		r := p.run(t, []string{"--read-only"}, "touch", "/x")
		if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
			t.Fatalf("touch / with --read-only: want EROFS, got %s", r)
		}
		r = p.run(t, []string{"--read-only", "--tmpfs", "/home/user"}, "sh", "-c",
			`touch /tmp/ok && stat -c '%a %u' /tmp /home/user && grep -E ' /(tmp|home/user) ' /proc/mounts | cut -d' ' -f2,3`)
		// The tmpfs keeps the directory's mode, but not its owner (1000 in the image): runc's way.
		if want := "1777 0\n755 0\n/tmp tmpfs\n/home/user tmpfs\n"; r.code != 0 || r.stdout != want {
			t.Fatalf("--read-only --tmpfs /home/user: want %q, got %s", want, r)
		}
	})

	t.Run("bind mount", func(t *testing.T) {
		share := shareDir(t)
		if err := os.WriteFile(filepath.Join(share, "from-host"), []byte("host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := p.run(t, []string{"-v", share + ":/data"}, "sh", "-c", "cat /data/from-host; echo container > /data/from-container")
		if r.code != 0 || r.stdout != "host\n" {
			t.Fatalf("want the host's file, got %s", r)
		}
		if got := readHostFile(t, filepath.Join(share, "from-container")); got != "container" {
			t.Fatalf("the container's write: got %q", got)
		}
	})

	t.Run("detached exec stop rm", func(t *testing.T) {
		share := shareDir(t)
		name, id := p.detach(t, []string{"-v", share + ":/share"}, "sh", "-c",
			`trap "echo term > /share/marker; exit 0" TERM; while :; do sleep 0.1; done`)
		if s := p.inspect(t, name, "{{.State.Status}}"); s != "running" {
			t.Fatalf("after run -d: status %q", s)
		}
		if r := p.podman(t, "exec", "-u", "1000", "-w", "/tmp", name, "sh", "-c", "id -u; pwd"); r.code != 0 || r.stdout != "1000\n/tmp\n" {
			t.Fatalf("exec -u 1000 -w /tmp: want \"1000\\n/tmp\\n\", got %s", r)
		}
		if r := p.podman(t, "exec", name, "sh", "-c", "exit 7"); r.code != 7 {
			t.Fatalf("exec exit code: want 7, got %s", r)
		}
		if r := p.podman(t, "exec", name, "/nonexistent"); r.code != 127 {
			t.Fatalf("exec of a missing command: want 127, got %s", r)
		}
		// -t without a terminal on our side: the runtime still makes the pty (console socket).
		if r := p.podman(t, "exec", "-t", name, "tty"); r.code != 0 || !strings.HasPrefix(r.stdout, "/dev/pts/") {
			t.Fatalf("exec -t tty: want /dev/pts/N, got %s", r)
		}
		start := time.Now()
		p.ok(t, "stop", "--time", "20", name)
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("stop took %v: SIGTERM was not delivered to the trap", took)
		}
		if got := readHostFile(t, filepath.Join(share, "marker")); got != "term" {
			t.Fatalf("the TERM trap did not run: marker %q", got)
		}
		if s := p.inspect(t, name, "{{.State.Status}} {{.State.ExitCode}}"); s != "exited 0" {
			t.Fatalf("after stop: %q, want \"exited 0\"", s)
		}
		p.ok(t, "rm", name)
		if out := p.ok(t, "ps", "--all", "--quiet", "--no-trunc"); strings.Contains(out, id) {
			t.Fatalf("podman ps -a still lists %s after rm", id)
		}
	})

	t.Run("rm -f running", func(t *testing.T) {
		name, id := p.detach(t, nil, "sleep", "1000")
		p.ok(t, "rm", "--force", "--time", "0", name)
		if _, err := os.Stat(filepath.Join(p.runtimeRoot(), id)); err == nil {
			t.Fatalf("runtime state %s/%s left after rm -f", p.runtimeRoot(), id)
		}
	})

	t.Run("logs", func(t *testing.T) {
		name, _ := p.detach(t, nil, "sh", "-c", "echo out-line; echo err-line >&2; exit 4")
		if r := p.podman(t, "wait", name); r.code != 0 || strings.TrimSpace(r.stdout) != "4" {
			t.Fatalf("podman wait: want 4, got %s", r)
		}
		r := p.podman(t, "logs", name)
		if r.code != 0 || r.stdout != "out-line\n" || r.stderr != "err-line\n" {
			t.Fatalf("podman logs: want out-line on stdout and err-line on stderr, got %s", r)
		}
	})

	t.Run("memory and pids limits", func(t *testing.T) {
		r := p.run(t, []string{"-m", "64m", "--pids-limit", "20"}, "sh", "-c",
			`cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max`)
		if want := "67108864\n20\n"; r.code != 0 || r.stdout != want {
			t.Fatalf("limits seen inside: want %q, got %s", want, r)
		}
		// 30 background sleeps under a limit of 20 pids: a fork fails (busybox sh then exits 2).
		r = p.run(t, []string{"--pids-limit", "20"}, "sh", "-c", `for i in $(seq 30); do sleep 1 & done; wait`)
		if r.code != 2 || !strings.Contains(r.stderr, "can't fork: Resource temporarily unavailable") {
			t.Fatalf("--pids-limit 20 and 30 processes: want a failed fork, got %s", r)
		}
	})

	t.Run("oom kill is 137", func(t *testing.T) {
		name := p.name(t)
		r := p.podman(t, p.runArgs(name, []string{"-m", "32m", "--memory-swap", "32m"}, "sh", "-c", "head -c 200m /dev/zero | tail")...)
		if r.code != 137 {
			t.Fatalf("memory hog under -m 32m: want exit 137, got %s", r)
		}
		// (State.OOMKilled stays false here with runc too: conmon 2.1.6 does not see the OOM
		// kill on this hybrid cgroup v1 host, so it is not checked.)
	})

	t.Run("pause top stats update", func(t *testing.T) {
		name, id := p.detach(t, nil, "sleep", "1000")
		p.ok(t, "pause", name)
		if s := p.inspect(t, name, "{{.State.Status}}"); s != "paused" {
			t.Fatalf("after pause: status %q", s)
		}
		if f := readHostFile(t, p.cgroupFile("freezer", id, "freezer.state")); f != "FROZEN" {
			t.Fatalf("after pause: freezer.state %q", f)
		}
		p.ok(t, "unpause", name)
		if s := p.inspect(t, name, "{{.State.Status}}"); s != "running" {
			t.Fatalf("after unpause: status %q", s)
		}
		if f := readHostFile(t, p.cgroupFile("freezer", id, "freezer.state")); f != "THAWED" {
			t.Fatalf("after unpause: freezer.state %q", f)
		}
		if out := p.ok(t, "top", name, "pid", "args"); !strings.Contains(out, "sleep 1000") {
			t.Fatalf("podman top: no sleep 1000 in\n%s", out)
		}
		if out := strings.TrimSpace(p.ok(t, "stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", name)); !strings.HasPrefix(out, "1 ") {
			t.Fatalf("podman stats --no-stream: want 1 pid and a memory usage, got %q", out)
		}
		// podman runs `runtime update --resources=FILE ID`.
		p.ok(t, "update", "--memory", "100m", name)
		if f := readHostFile(t, p.cgroupFile("memory", id, "memory.limit_in_bytes")); f != "104857600" {
			t.Fatalf("after update --memory 100m: memory.limit_in_bytes %q", f)
		}
	})

	t.Run("run -t", func(t *testing.T) {
		r := p.run(t, []string{"-t"}, "sh", "-c", "tty; stty size")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "/dev/pts/0\r\n") {
			t.Fatalf("run -t tty: want /dev/pts/0 (CRLF from the pty), got %s", r)
		}
	})

	t.Run("run -it in a pty", func(t *testing.T) {
		out := p.runInPty(t, []string{"-it", "--rm", "--name", p.name(t)}, "stty size; read a b; echo got $((a*b)); exit 5", "6 7\n")
		if !strings.Contains(out, "24 80") || !strings.Contains(out, "got 42") {
			t.Fatalf("run -it: want the pty's size 24 80 and \"got 42\" back, got %q", out)
		}
	})
}

// runInPty runs `podman run opts IMG sh -c script` with a fresh pseudo-terminal (24x80) as its
// stdin, stdout and stderr and controlling terminal, as a person's shell would; it types input
// once the container is up and returns everything the terminal showed. The container must exit 5.
func (p *podman) runInPty(t *testing.T, opts []string, script, input string) string {
	t.Helper()
	master, slave := openPty(t)
	defer master.Close()
	args := append([]string{"run", "--network", "none", "--cgroup-parent", p.cgroupParent}, opts...)
	args = append(args, podmanImage, "sh", "-c", "echo ready; "+script)
	cmd := exec.Command("podman", p.cmdArgs(args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	typed := false
	buf := make([]byte, 4096)
	for {
		_ = master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := master.Read(buf)
		out.Write(buf[:n])
		if !typed && strings.Contains(out.String(), "ready") {
			if _, err := master.Write([]byte(input)); err != nil {
				t.Fatal(err)
			}
			typed = true
		}
		if err != nil && !os.IsTimeout(err) {
			break // EIO: every process holding the terminal has exited
		}
		if ctx.Err() != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("podman run -it hung; the terminal showed %q", out.String())
		}
		select {
		case err := <-done:
			if code := cmd.ProcessState.ExitCode(); code != 5 {
				t.Fatalf("podman run -it: exit %d (%v), want 5; the terminal showed %q", code, err, out.String())
			}
			// Drain what is left on the terminal.
			_ = master.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _ := master.Read(buf)
			out.Write(buf[:n])
			return out.String()
		default:
		}
	}
	if err := <-done; cmd.ProcessState.ExitCode() != 5 {
		t.Fatalf("podman run -it: exit %d (%v), want 5; the terminal showed %q", cmd.ProcessState.ExitCode(), err, out.String())
	}
	return out.String()
}

// openPty makes a pseudo-terminal pair with /dev/ptmx (posix_openpt, unlockpt, ptsname) and
// sets its size to 24x80.
func openPty(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// dirNames is the set of entries of dir (empty if it does not exist).
func dirNames(dir string) map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		m[e.Name()] = true
	}
	return m
}

// waitGone waits (bounded) until no process mentions base in its command line: conmon and the
// `podman container cleanup` it starts finish a moment after the container does.
func waitGone(base string) {
	deadline := time.Now().Add(10 * time.Second)
	for len(pidsNaming(base)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
}
