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
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/test/internal/hosttest"
)

var (
	hullBin      string // the binary under test; HULL_BIN overrides (e.g. to point the suite at runc)
	rootfsSource string // a busybox rootfs every bundle copies
	cgroupParent = fmt.Sprintf("/hull-e2e-%d", os.Getpid())
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the end-to-end tests need root")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "hull-e2e-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if hullBin, err = hosttest.Hull(dir, "../cmd/hull"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		rootfsSource = filepath.Join(dir, "rootfs")
		if err := hosttest.BusyboxRootfs(rootfsSource); err != nil {
			fmt.Fprintln(os.Stderr, "busybox rootfs:", err)
			return 1
		}
		defer removeCgroupParent()
		return m.Run()
	}()
	os.Exit(code)
}

// h is one test's view of hull: its own state root, bundle and cgroup parent.
type h struct {
	t      *testing.T
	root   string // --root
	bundle string
	spec   *specs.Spec
}

// newH prepares a bundle whose process runs args, with hull's default security settings but
// no terminal, and registers the leak check.
func newH(t *testing.T, args ...string) *h {
	t.Helper()
	base := t.TempDir()
	x := &h{t: t, root: filepath.Join(base, "state"), bundle: filepath.Join(base, "bundle")}
	if err := os.MkdirAll(x.bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", rootfsSource, filepath.Join(x.bundle, "rootfs")).CombinedOutput(); err != nil {
		t.Fatalf("copy rootfs: %v %s", err, out)
	}
	s := runtime.DefaultSpec(false)
	s.Root.Readonly = false
	s.Process.Terminal = false
	s.Process.Args = args
	s.Linux.CgroupsPath = filepath.Join(cgroupParent, strings.ReplaceAll(t.Name(), "/", "_"))
	x.spec = s
	t.Cleanup(func() { x.leakCheck() })
	return x
}

// writeSpec writes x.spec into the bundle (call after changing x.spec).
func (x *h) writeSpec() {
	x.t.Helper()
	b, err := json.MarshalIndent(x.spec, "", " ")
	if err != nil {
		x.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x.bundle, "config.json"), b, 0o644); err != nil {
		x.t.Fatal(err)
	}
}

// result is what one hull invocation did.
type result struct {
	stdout, stderr string
	code           int
	hullPid        int
}

// run invokes hull with --root and the given arguments; stdin is empty.
func (x *h) run(args ...string) result {
	x.t.Helper()
	return x.runIn(nil, args...)
}

// cmd is an unstarted hull invocation with --root, run from the bundle dir.
func (x *h) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(hullBin, append([]string{"--root", x.root}, args...)...)
	cmd.Dir = x.bundle
	return cmd
}

func (x *h) runIn(stdin []byte, args ...string) result {
	x.t.Helper()
	return x.runCmd(x.cmd(args...), stdin, args)
}

// runCmd runs a prepared hull command (bounded in time) and collects what it printed.
func (x *h) runCmd(cmd *exec.Cmd, stdin []byte, args []string) result {
	x.t.Helper()
	// Files, not pipes: a container started by create or run --detach keeps hull's stdout and
	// stderr, and a pipe would make Wait block until the container exits.
	dir := x.t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		x.t.Fatal(err)
	}
	defer outF.Close()
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		x.t.Fatal(err)
	}
	defer errF.Close()
	cmd.Stdout, cmd.Stderr = outF, errF
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Start(); err != nil {
		x.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		b, _ := os.ReadFile(errF.Name())
		x.t.Fatalf("hull %v hung; stderr: %s", args, b)
	}
	stdout, _ := os.ReadFile(outF.Name())
	stderr, _ := os.ReadFile(errF.Name())
	return result{stdout: string(stdout), stderr: string(stderr), code: cmd.ProcessState.ExitCode(), hullPid: cmd.Process.Pid}
}

// ok runs hull and fails the test unless it exits 0.
func (x *h) ok(args ...string) string {
	x.t.Helper()
	r := x.run(args...)
	if r.code != 0 {
		x.t.Fatalf("hull %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// runContainer runs the bundle in the foreground and returns stdout, stderr and the exit code.
func (x *h) runContainer(id string) result {
	x.t.Helper()
	x.writeSpec()
	return x.run("run", "--bundle", x.bundle, id)
}

// state returns `hull state` as JSON.
func (x *h) state(id string) map[string]any {
	x.t.Helper()
	out := x.ok("state", id)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		x.t.Fatalf("state %s: %v: %s", id, err, out)
	}
	return m
}

// waitStopped waits (bounded) until the container's status is stopped.
func (x *h) waitStopped(id string) {
	x.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if x.state(id)["status"] == "stopped" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	x.t.Fatalf("container %s did not stop", id)
}

// hostDir makes a host directory bind-mounted into the container at dst, for results.
func (x *h) hostDir(dst string) string {
	x.t.Helper()
	d := filepath.Join(x.t.TempDir(), "share")
	if err := os.MkdirAll(d, 0o777); err != nil {
		x.t.Fatal(err)
	}
	x.spec.Mounts = append(x.spec.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: d, Options: []string{"rbind", "rw"}})
	return d
}
