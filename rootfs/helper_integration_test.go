//go:build integration

package rootfs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The integration tests re-exec the test binary as a tiny container init: a child in
// new mount and PID namespaces that runs NewPlan, Mount, Pivot and Finish, then execs
// busybox sh with the test's script. Every mount dies with that namespace.

const helperEnv = "HULL_ROOTFS_HELPER"

// helperJob is what the test hands the child.
type helperJob struct {
	Spec    *specs.Spec
	Rootfs  string
	Options Options
	Script  string
	// NotMounted are host paths on which, after Mount, the child must see no mount: a
	// mount there would mean a bundle escaped its rootfs.
	NotMounted []string
}

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		os.Exit(runHelper(path))
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "rootfs integration tests must run as root")
		os.Exit(1)
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		fmt.Fprintln(os.Stderr, "rootfs integration tests need a static /bin/busybox:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// stderrRecorder narrates each step, the way hull --debug does.
type stderrRecorder struct{}

func (stderrRecorder) Step(op, args string, err error, took time.Duration) {
	fmt.Fprintf(os.Stderr, "step: %s %s err=%v (%s)\n", op, args, err, took)
}

// runHelper is the child: exit 3 on an error from the package, 4 on an escape.
func runHelper(path string) int {
	goruntime.LockOSThread()
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 2
	}
	var job helperJob
	if err := json.Unmarshal(data, &job); err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 2
	}
	rec := stderrRecorder{}
	plan, err := NewPlan(job.Spec, job.Rootfs, job.Options)
	if err == nil {
		err = plan.Mount(rec)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 3
	}
	mounts, err := mountPoints("/proc/self/mountinfo")
	if err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 2
	}
	for _, p := range job.NotMounted {
		if mounts[p] {
			fmt.Fprintln(os.Stderr, "HELPER-ESCAPE: something is mounted on", p)
			return 4
		}
	}
	if err := plan.Pivot(rec); err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 3
	}
	if err := plan.Finish(rec); err != nil {
		fmt.Fprintln(os.Stderr, "HELPER-ERROR:", err)
		return 3
	}
	err = unix.Exec("/bin/busybox", []string{"sh", "-c", job.Script}, []string{"PATH=/bin"})
	fmt.Fprintln(os.Stderr, "HELPER-ERROR: exec:", err)
	return 2
}

// mountPoints reads the set of mount points in a mountinfo file.
func mountPoints(path string) (map[string]bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 {
			out[unescapeMountinfo(f[4])] = true
		}
	}
	return out, nil
}

type result struct {
	stdout, stderr string
	code           int
}

// vars parses the script's "key=value" lines; repeated keys accumulate.
func (r result) vars() map[string][]string {
	out := map[string][]string{}
	for _, line := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = append(out[k], v)
		}
	}
	return out
}

// runJob runs job in a child with its own mount and PID namespaces.
func runJob(t *testing.T, job helperJob) result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "job.json")
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
		Pdeathsig:  syscall.SIGKILL,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run helper: %v", err)
	}
	t.Logf("helper exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	return r
}

// noMountLeak fails the test if the host's mount table changed while it ran.
func noMountLeak(t *testing.T) {
	t.Helper()
	before, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		after, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Errorf("host mount table changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// newRootfs builds a minimal root filesystem: busybox and a few empty directories.
func newRootfs(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src, err := os.Open("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(root, "bin", "busybox"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	return root
}

// baseMounts are the mounts of runc's default spec.
func baseMounts() []specs.Mount {
	return []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func want(t *testing.T, vars map[string][]string, key, value string) {
	t.Helper()
	if got := strings.Join(vars[key], "\n"); got != value {
		t.Errorf("%s = %q, want %q", key, got, value)
	}
}
