package runtime

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProcStartOddComm: /proc/<pid>/stat puts the command name in parentheses, and a name may
// hold spaces and parentheses itself. A child is started through a symlink named so that parsing
// after the first ')' would read the wrong field (its priority, ~20, instead of its start time).
func TestProcStartOddComm(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatalf("no sleep binary: %v", err)
	}
	const comm = "x) R 1 (y) z" // the kernel keeps 15 bytes of the name
	link := filepath.Join(t.TempDir(), comm)
	if err := os.Symlink(sleep, link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil || !strings.Contains(string(stat), "("+comm+")") {
		t.Fatalf("the test needs a comm with parentheses: %q, %v", stat, err)
	}

	self, zombie, err := procStart(os.Getpid())
	if err != nil || zombie {
		t.Fatalf("procStart(self) = %d, %v, %v", self, zombie, err)
	}
	start, zombie, err := procStart(pid)
	if err != nil || zombie {
		t.Fatalf("procStart(child) = %d, zombie %v, %v", start, zombie, err)
	}
	// The child started after us and before now (clock ticks since boot: USER_HZ is 100).
	up, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	secs, _ := strconv.ParseFloat(strings.Fields(string(up))[0], 64)
	if start < self || float64(start) > secs*100+100 {
		t.Errorf("start time %d of the child is not between ours (%d) and now (%.0f)", start, self, secs*100)
	}
	// A process that exited but was not waited for is a zombie: not alive.
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s2, z, err := procStart(pid)
		if err == nil && z {
			if s2 != start {
				t.Errorf("the zombie's start time changed: %d → %d", start, s2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("procStart never reported the killed child as a zombie (%v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := &State{Pid: pid, PidStart: start}
	if st.alive() {
		t.Error("a zombie counts as alive")
	}
	_ = cmd.Wait()
	if _, _, err := procStart(pid); err == nil {
		t.Error("procStart of a reaped pid succeeded")
	}
	if st.alive() {
		t.Error("a reaped process counts as alive")
	}
}

// TestAliveChecksStartTime: the same pid with another start time is another process.
func TestAliveChecksStartTime(t *testing.T) {
	start, _, err := procStart(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !(&State{Pid: os.Getpid(), PidStart: start}).alive() {
		t.Error("this process is not alive")
	}
	if (&State{Pid: os.Getpid(), PidStart: start + 1}).alive() {
		t.Error("a reused pid (other start time) counts as alive")
	}
	if (&State{Pid: 0}).alive() || (&State{Pid: -1}).alive() {
		t.Error("pid 0 or -1 counts as alive")
	}
}
