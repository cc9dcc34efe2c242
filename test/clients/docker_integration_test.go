//go:build integration

package clients

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dockerClient is the docker CLI talking to a private dockerd, which drives its own private
// containerd, whose runc v2 shim runs the runtime under test (registered as runtime "hull").
type dockerClient struct {
	env      []string // DOCKER_HOST, DOCKER_CONFIG
	execRoot string
	ctdState string // containerd's state dir: bundles are <ctdState>/io.containerd.runtime.v2.task/moby/<id>
}

// dockerCLI prefers Debian's docker.io CLI (the daemon's own version) to any other on PATH.
func dockerCLI() string {
	if _, err := os.Stat("/usr/bin/docker"); err == nil {
		return "/usr/bin/docker"
	}
	return "docker"
}

func (d *dockerClient) docker(t *testing.T, args ...string) result {
	t.Helper()
	return runCmd(t, d.env, dockerCLI(), args...)
}

func (d *dockerClient) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := d.docker(t, args...)
	if r.code != 0 {
		t.Fatalf("docker %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// run is `docker run --runtime hull --network none` with opts before the image and argv after it.
func (d *dockerClient) run(t *testing.T, opts []string, argv ...string) result {
	t.Helper()
	args := append([]string{"run", "--runtime", "hull", "--network", "none"}, opts...)
	return d.docker(t, append(append(args, imageRef), argv...)...)
}

// detach starts a named container in the background and removes it when the test ends.
func (d *dockerClient) detach(t *testing.T, name string, opts []string, argv ...string) string {
	t.Helper()
	t.Cleanup(func() { d.docker(t, "rm", "--force", name) })
	r := d.run(t, append([]string{"--detach", "--name", name}, opts...), argv...)
	if r.code != 0 {
		t.Fatalf("docker run -d %s: %s", name, r)
	}
	return strings.TrimSpace(r.stdout)
}

func (d *dockerClient) inspect(t *testing.T, name, format string) string {
	t.Helper()
	return strings.TrimSpace(d.ok(t, "inspect", "--format", format, name))
}

// TestDocker drives the runtime under test through Docker: dockerd → containerd → runc v2 shim.
func TestDocker(t *testing.T) {
	base := t.TempDir()
	cgParent := fmt.Sprintf("/hulltest-docker-%d", os.Getpid())
	d := &dockerClient{execRoot: filepath.Join(base, "exec"), ctdState: filepath.Join(base, "ctd", "state")}
	checkLeaksAtEnd(t, &leakScope{base: base, cgroups: []string{cgParent},
		stateDirs: []string{filepath.Join(d.execRoot, "runtime-runc", "moby")}, globalDirs: []string{shimSocketDir}})

	if err := os.MkdirAll(filepath.Join(base, "ctd"), 0o755); err != nil {
		t.Fatal(err)
	}
	// dockerd can start a containerd of its own (it works without systemd), but that one's
	// opt plugin writes /opt/containerd; ours keeps everything under base.
	ctdSock, _ := startContainerd(t, filepath.Join(base, "ctd"))
	sock := filepath.Join(base, "docker.sock")
	daemonJSON := filepath.Join(base, "daemon.json")
	// The trust key would go to /etc/docker/key.json; only the config file can move it.
	keyJSON := fmt.Sprintf(`{"deprecated-key-path": %q}`, filepath.Join(base, "key.json"))
	if err := os.WriteFile(daemonJSON, []byte(keyJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	dockerd := startDaemon(t, filepath.Join(base, "dockerd.log"), sock, "dockerd",
		"--config-file", daemonJSON,
		"--data-root", filepath.Join(base, "data"),
		"--exec-root", d.execRoot,
		"--pidfile", filepath.Join(base, "dockerd.pid"),
		"-H", "unix://"+sock,
		"--containerd", ctdSock,
		"--iptables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
		"--exec-opt", "native.cgroupdriver=cgroupfs",
		"--cgroup-parent", cgParent,
		"--storage-driver", "overlay2",
		"--add-runtime", "hull="+clientRuntime)
	d.env = []string{"DOCKER_HOST=unix://" + sock, "DOCKER_CONFIG=" + filepath.Join(base, "cli")}
	waitFor(t, "docker info", func() bool { return d.docker(t, "info").code == 0 })
	defer func() {
		if t.Failed() {
			t.Log(dockerd.logTail())
		}
	}()
	d.ok(t, "load", "--input", imageTar)

	t.Run("output and exit code", func(t *testing.T) {
		r := d.run(t, []string{"--rm"}, "sh", "-c", "echo hello; exit 3")
		if r.code != 3 || r.stdout != "hello\n" {
			t.Fatalf("want exit 3 and hello, got %s", r)
		}
	})
	t.Run("missing command is 127", func(t *testing.T) {
		if r := d.run(t, []string{"--rm"}, "/nonexistent"); r.code != 127 || !strings.Contains(r.stderr, `"/nonexistent"`) {
			t.Fatalf("want 127, got %s", r)
		}
	})
	t.Run("not executable is 126", func(t *testing.T) {
		if r := d.run(t, []string{"--rm"}, "/etc/passwd"); r.code != 126 || !strings.Contains(r.stderr, `"/etc/passwd"`) {
			t.Fatalf("want 126, got %s", r)
		}
	})

	t.Run("tty", func(t *testing.T) {
		// run -t: the runtime makes the pty and sends its master over --console-socket.
		if r := d.run(t, []string{"--rm", "--tty"}, "tty"); r.code != 0 || r.stdout != "/dev/pts/0\r\n" {
			t.Fatalf("run -t tty: %s", r)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		args := []string{"run", "--runtime", "hull", "--network", "none", "--rm", "--interactive", imageRef, "sh", "-c", "cat; echo done"}
		if r := runCmdIn(t, "piped\n", d.env, dockerCLI(), args...); r.code != 0 || r.stdout != "piped\ndone\n" {
			t.Fatalf("run -i with stdin: %s", r)
		}
	})

	t.Run("detached", func(t *testing.T) {
		share := shareDir(t)
		id := d.detach(t, "web", []string{"--volume", share + ":/out", "--memory", "64m"},
			"sh", "-c", `trap "echo usr1 >> /out/usr1" USR1; trap "echo term > /out/marker; exit 0" TERM
echo started; while true; do sleep 0.1; done`)
		if rt := d.inspect(t, "web", "{{.HostConfig.Runtime}}"); rt != "hull" {
			t.Fatalf("runtime %q", rt)
		}
		if _, err := os.Stat(filepath.Join(d.execRoot, "runtime-runc", "moby", id)); err != nil {
			t.Fatalf("the runtime under test has no state for the container: %v", err)
		}
		pid := d.inspect(t, "web", "{{.State.Pid}}")

		t.Run("libnetwork-setkey prestart hook", func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(d.ctdState, "io.containerd.runtime.v2.task", "moby", id, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var spec struct {
				Hooks struct {
					Prestart []struct {
						Path string   `json:"path"`
						Args []string `json:"args"`
					} `json:"prestart"`
				} `json:"hooks"`
			}
			if err := json.Unmarshal(b, &spec); err != nil {
				t.Fatal(err)
			}
			if len(spec.Hooks.Prestart) != 1 || len(spec.Hooks.Prestart[0].Args) < 1 || spec.Hooks.Prestart[0].Args[0] != "libnetwork-setkey" {
				t.Fatalf("docker gave no libnetwork-setkey prestart hook: %+v", spec.Hooks)
			}
			// The hook tells dockerd the container's netns; dockerd bind-mounts it on the sandbox
			// key. That mount holding the container's own netns proves the hook ran, with the
			// right state on stdin.
			key := d.inspect(t, "web", "{{.NetworkSettings.SandboxKey}}")
			netns, err := os.Readlink("/proc/" + pid + "/ns/net")
			if err != nil {
				t.Fatal(err)
			}
			if got := mountRootOf(key); got != netns {
				t.Fatalf("sandbox key %s holds %q, the container's netns is %q: the hook did not run", key, got, netns)
			}
		})

		t.Run("exec", func(t *testing.T) {
			if out := d.ok(t, "exec", "--user", "1000", "--workdir", "/tmp", "web", "sh", "-c", "id -u; pwd"); out != "1000\n/tmp\n" {
				t.Fatalf("exec -u 1000 -w /tmp: got %q", out)
			}
			if r := d.docker(t, "exec", "web", "sh", "-c", "exit 7"); r.code != 7 {
				t.Fatalf("exec exit code: want 7, got %s", r)
			}
			if r := d.docker(t, "exec", "web", "/nonexistent"); r.code != 126 && r.code != 127 {
				t.Fatalf("exec of a missing command: want 126 or 127, got %s", r)
			}
			args := []string{"exec", "--interactive", "web", "sh", "-c", "cat; echo done"}
			if r := runCmdIn(t, "piped\n", d.env, dockerCLI(), args...); r.code != 0 || r.stdout != "piped\ndone\n" {
				t.Fatalf("exec -i with stdin: %s", r)
			}
			if r := d.docker(t, "exec", "--tty", "web", "tty"); r.code != 0 || !strings.HasPrefix(r.stdout, "/dev/pts/") {
				t.Fatalf("exec -t tty: %s", r)
			}
		})

		t.Run("logs", func(t *testing.T) {
			if out := d.ok(t, "logs", "web"); out != "started\n" {
				t.Fatalf("logs: %q", out)
			}
		})

		t.Run("top", func(t *testing.T) {
			// docker top asks the runtime for `ps --format json`, then reads ps(1) for those PIDs.
			out := d.ok(t, "top", "web")
			found := false
			for _, line := range strings.Split(out, "\n") {
				if f := strings.Fields(line); len(f) > 1 && f[1] == pid {
					found = true
				}
			}
			if !found {
				t.Fatalf("docker top does not list the init %s:\n%s", pid, out)
			}
		})

		t.Run("stats", func(t *testing.T) {
			out := strings.TrimSpace(d.ok(t, "stats", "--no-stream", "--format", "{{.PIDs}} {{.MemUsage}}", "web"))
			f := strings.Fields(out)
			if n, err := strconv.Atoi(f[0]); err != nil || n < 1 || !strings.Contains(out, "/ 64MiB") {
				t.Fatalf("docker stats: want PIDs ≥ 1 and a 64MiB limit, got %q", out)
			}
		})

		t.Run("pause", func(t *testing.T) {
			d.ok(t, "pause", "web")
			if s := d.inspect(t, "web", "{{.State.Status}}"); s != "paused" {
				t.Fatalf("after pause: %s", s)
			}
			d.ok(t, "unpause", "web")
			if s := d.inspect(t, "web", "{{.State.Status}}"); s != "running" {
				t.Fatalf("after unpause: %s", s)
			}
		})

		t.Run("update", func(t *testing.T) {
			if r := d.docker(t, "update", "--memory", "128m", "--memory-swap", "256m", "--pids-limit", "60", "web"); r.code != 0 {
				t.Fatalf("docker update (runtime update --resources - on stdin): %s", r)
			}
			out := d.ok(t, "exec", "web", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max")
			if out != "134217728\n60\n" {
				t.Fatalf("after update, the container sees limits %q, want 134217728 and 60", out)
			}
		})

		t.Run("kill --signal", func(t *testing.T) {
			d.ok(t, "kill", "--signal", "USR1", "web")
			waitFor(t, "the USR1 trap", func() bool {
				b, _ := os.ReadFile(filepath.Join(share, "usr1"))
				return string(b) == "usr1\n"
			})
			if s := d.inspect(t, "web", "{{.State.Status}}"); s != "running" {
				t.Fatalf("after USR1: %s", s)
			}
		})

		t.Run("stop honours SIGTERM", func(t *testing.T) {
			start := time.Now()
			d.ok(t, "stop", "--time", "20", "web")
			if el := time.Since(start); el > 10*time.Second {
				t.Fatalf("docker stop took %v: SIGTERM was not delivered to the trap", el)
			}
			if b, err := os.ReadFile(filepath.Join(share, "marker")); err != nil || string(b) != "term\n" {
				t.Fatalf("the TERM trap did not run: %q %v", b, err)
			}
			if code := d.inspect(t, "web", "{{.State.ExitCode}}"); code != "0" {
				t.Fatalf("exit code after the trap: %s", code)
			}
			d.ok(t, "rm", "web")
		})
	})

	t.Run("restart", func(t *testing.T) {
		// A restart deletes the container in the runtime and creates it again under the same id.
		d.detach(t, "again", nil, "sleep", "1000")
		pid := d.inspect(t, "again", "{{.State.Pid}}")
		d.ok(t, "restart", "--time", "0", "again")
		if s := d.inspect(t, "again", "{{.State.Status}} {{.State.Pid}}"); s == "running "+pid || !strings.HasPrefix(s, "running ") {
			t.Fatalf("after restart: %s (pid before: %s)", s, pid)
		}
		d.ok(t, "stop", "--time", "0", "again")
		d.ok(t, "start", "again")
		if s := d.inspect(t, "again", "{{.State.Status}}"); s != "running" {
			t.Fatalf("after stop and start: %s", s)
		}
		d.ok(t, "rm", "--force", "again")
	})

	t.Run("env workdir user read-only tmpfs bind limits", func(t *testing.T) {
		share := shareDir(t)
		if err := os.WriteFile(filepath.Join(share, "in"), []byte("from host\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := d.run(t, []string{"--rm", "--env", "FOO=bar", "--workdir", "/tmp", "--user", "1000", "--read-only",
			"--tmpfs", "/scratch", "--volume", share + ":/data:ro", "--memory", "64m", "--pids-limit", "50"},
			"sh", "-c", `echo FOO=$FOO; pwd; id -u; touch /x 2>/dev/null || echo rootfs read-only
touch /scratch/y && echo tmpfs writable; cat /data/in; touch /data/z 2>/dev/null || echo bind read-only
cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max`)
		want := "FOO=bar\n/tmp\n1000\nrootfs read-only\ntmpfs writable\nfrom host\nbind read-only\n67108864\n50\n"
		if r.code != 0 || r.stdout != want {
			t.Fatalf("want %q, got %s", want, r)
		}
	})

	t.Run("process settings", func(t *testing.T) {
		r := d.run(t, []string{"--rm", "--hostname", "box", "--ulimit", "nofile=100:200", "--cap-drop", "ALL",
			"--cap-add", "NET_BIND_SERVICE", "--cap-add", "CHOWN", "--security-opt", "no-new-privileges",
			"--user", "1000:1000", "--group-add", "5", "--device", "/dev/zero:/dev/z", "--shm-size", "8m",
			"--sysctl", "net.ipv4.ip_unprivileged_port_start=80"},
			"sh", "-c", `hostname; cat /etc/hostname; ulimit -n; ulimit -Hn; id -G
grep -E '^(CapBnd|CapEff|NoNewPrivs|Seccomp):' /proc/self/status | tr -s '\t' ' '
head -c 2 /dev/z | od -An -tx1; df -k /dev/shm | tail -1 | awk '{print $2}'; cat /proc/sys/net/ipv4/ip_unprivileged_port_start`)
		want := "box\nbox\n100\n200\n1000 5\nCapEff: 0000000000000000\nCapBnd: 0000000000000401\nNoNewPrivs: 1\nSeccomp: 2\n 00 00\n8192\n80\n"
		if r.code != 0 || r.stdout != want {
			t.Fatalf("want %q, got %s", want, r)
		}
	})

	t.Run("docker's seccomp profile", func(t *testing.T) {
		// unshare(2) is not in docker's allow list for a container without CAP_SYS_ADMIN.
		r := d.run(t, []string{"--rm"}, "sh", "-c", "unshare -U true && echo allowed || echo refused")
		if r.code != 0 || r.stdout != "refused\n" {
			t.Fatalf("unshare inside docker's default seccomp profile: %s", r)
		}
	})

	t.Run("stop escalates to SIGKILL", func(t *testing.T) {
		// sh as PID 1 without a TERM trap ignores SIGTERM: docker stop sends SIGKILL after --time.
		d.detach(t, "stubborn", nil, "sh", "-c", "while true; do sleep 0.1; done")
		d.ok(t, "stop", "--time", "1", "stubborn")
		if code := d.inspect(t, "stubborn", "{{.State.ExitCode}}"); code != "137" {
			t.Fatalf("exit code %s, want 137", code)
		}
	})

	t.Run("oom is 137", func(t *testing.T) {
		t.Cleanup(func() { d.docker(t, "rm", "--force", "oom") })
		if r := d.run(t, []string{"--name", "oom", "--memory", "32m"}, "tail", "/dev/zero"); r.code != 137 {
			t.Fatalf("want 137, got %s", r)
		}
		if oom := d.inspect(t, "oom", "{{.State.OOMKilled}}"); oom != "true" {
			t.Fatalf("OOMKilled %s", oom)
		}
	})
}
