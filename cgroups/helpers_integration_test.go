//go:build integration

package cgroups

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// host returns the real layout; integration tests fail, not skip, without root.
func host(t *testing.T) *layout {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("cgroups integration tests need root (run: sudo go test -tags integration ./cgroups/)")
	}
	lay, err := hostLayout()
	if err != nil {
		t.Fatal(err)
	}
	return lay
}

// testParent returns a fresh absolute parent "/hulltest-<random>" and registers a leak check
// that runs after every other cleanup: nothing of ours may remain in any hierarchy.
func testParent(t *testing.T, lay *layout) string {
	t.Helper()
	parent := fmt.Sprintf("/hulltest-%08x", rand.Uint32())
	t.Cleanup(func() {
		for _, m := range lay.mounts() {
			d := m + parent
			if _, err := os.Lstat(d); err == nil {
				t.Errorf("leak: %s still exists", d)
				rmTree(d)
			}
		}
	})
	return parent
}

// rmTree removes a cgroup directory tree bottom-up (only directories can go; the kernel
// owns the files).
func rmTree(d string) {
	entries, _ := os.ReadDir(d)
	for _, e := range entries {
		if e.IsDir() {
			rmTree(filepath.Join(d, e.Name()))
		}
	}
	_ = unix.Rmdir(d)
}

// ctrlDir is where a controller's files for path live on this host.
func ctrlDir(lay *layout, ctrl, path string) string {
	if lay.mode == "v2" {
		return lay.unified + path
	}
	return lay.v1[ctrl] + path
}

func readCg(t *testing.T, dir, file string) string {
	t.Helper()
	s, err := readString(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// proc is a child started by a test, held on a pipe until released, killed by PID on cleanup.
type proc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startHeld starts sh -c script with "read x;" in front, so it does nothing until release:
// the test can move it into a cgroup first, and whatever follows runs inside.
func startHeld(t *testing.T, script string) *proc {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "read x; "+script)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		_ = cmd.Wait()
	})
	return &proc{cmd: cmd, stdin: stdin}
}

func (p *proc) release(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, "\n"); err != nil {
		t.Fatal(err)
	}
}

// wait returns the exit error, failing the test if the process outlives d.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("pid %d still running after %v", p.cmd.Process.Pid, d)
		return nil
	}
}

// inCgroup reports whether /proc/pid/cgroup puts pid at path in the hierarchy whose line
// has the given controller list ("" for cgroup2).
func inCgroup(t *testing.T, pid int, ctrls, path string) bool {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && parts[1] == ctrls {
			return parts[2] == path
		}
	}
	return false
}

// eventually polls cond for up to two seconds.
func eventually(cond func() bool) bool {
	for i := 0; i < 200; i++ {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
