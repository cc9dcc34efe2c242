package sysmon

import (
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSysmonTID finds this test binary's sysmon: the second thread, napping or between naps.
func TestSysmonTID(t *testing.T) {
	var tid int
	var ok bool
	// sysmon can hold the scheduler's lock for a moment (a futex wait): ask again then.
	for i := 0; i < 5 && !ok; i++ {
		tid, ok = sysmonTID()
	}
	if !ok {
		t.Fatal("sysmon not found")
	}
	if tid == os.Getpid() || tid == unix.Gettid() {
		t.Errorf("sysmonTID = %d: the main thread or this one", tid)
	}
}

// TestWithHostSlack: a process started through WithHostSlack from a thread with another slack
// inherits the host's.
func TestWithHostSlack(t *testing.T) {
	const host, other = 70_000, 2_000_000
	defer func(h uintptr) { hostSlack = h }(hostSlack)
	goruntime.LockOSThread() // never unlocked: Go retires the thread whose slack this changed
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, other, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	child := func() string {
		t.Helper()
		var out []byte
		err := WithHostSlack(func() (err error) {
			out, err = exec.Command("cat", "/proc/self/timerslack_ns").Output()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}

	hostSlack = 0 // Quiet changed nothing: nothing to restore
	if got := child(); got != strconv.Itoa(other) {
		t.Errorf("without Quiet: child's slack = %s, want the thread's %d", got, other)
	}
	hostSlack = host
	if got := child(); got != strconv.Itoa(host) {
		t.Errorf("child's slack = %s, want the host's %d", got, host)
	}
}
