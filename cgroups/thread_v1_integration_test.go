//go:build integration

package cgroups

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups/v1thread"
)

// v1thread.Join moves the calling thread, and only it, into the cgroup in every v1 hierarchy,
// and a process that thread starts is born there: what the container's init relies on.
func TestIntegrationJoinThreadV1(t *testing.T) {
	lay := host(t)
	if len(lay.v1) == 0 {
		t.Skip("no cgroup v1 hierarchies on this host")
	}
	path := testParent(t, lay) + "/thread"
	m, err := New(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Delete() }) // Delete waits out EBUSY while the thread ends
	tj, ok := m.(ThreadJoiner)
	if !ok {
		t.Fatalf("%T on a %s host is not a ThreadJoiner", m, lay.mode)
	}
	dirs := tj.ThreadDirs()
	if len(dirs) != len(lay.v1Mounts()) {
		t.Fatalf("ThreadDirs = %v, want one per v1 mount %v", dirs, lay.v1Mounts())
	}
	res := make(chan joinResult, 1)
	go func() {
		// Go retires a thread left locked, except the main thread: hold that one, if this is
		// it, while the work is done on another.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			done := make(chan struct{})
			go func() { defer close(done); joinAndLook(dirs, res) }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		joinAndLook(dirs, res)
	}()
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { // before Delete: wait until Go has ended the thread
		if !eventually(func() bool { _, err := os.Stat("/proc/self/task/" + strconv.Itoa(r.tid)); return err != nil }) {
			t.Errorf("thread %d still there", r.tid)
		}
	})
	for what, cg := range map[string]string{"the thread": r.self, "its child": r.child} {
		if n := v1Lines(cg, path); n != len(dirs) {
			t.Errorf("%s is at %s in %d of %d v1 hierarchies:\n%s", what, path, n, len(dirs), cg)
		}
	}
	// No other thread of this process moved.
	tasks, _ := filepath.Glob("/proc/self/task/*/cgroup")
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil || filepath.Base(filepath.Dir(f)) == strconv.Itoa(r.tid) {
			continue
		}
		if v1Lines(string(b), path) != 0 {
			t.Errorf("thread %s moved too:\n%s", f, b)
		}
	}
}

type joinResult struct {
	tid         int
	self, child string
	err         error
}

// joinAndLook locks the goroutine to its thread for good, joins dirs, and reports where the
// thread and a child it starts are.
func joinAndLook(dirs []string, res chan<- joinResult) {
	runtime.LockOSThread()
	r := joinResult{tid: unix.Gettid()}
	if r.err = v1thread.Join(dirs, nil); r.err == nil {
		var b []byte
		if b, r.err = os.ReadFile("/proc/thread-self/cgroup"); r.err == nil {
			r.self = string(b)
			b, r.err = exec.Command("cat", "/proc/self/cgroup").Output()
			r.child = string(b)
		}
	}
	res <- r
}

// v1Lines counts the v1 hierarchies in which a /proc/<pid>/cgroup listing puts its task at path.
func v1Lines(listing, path string) int {
	n := 0
	for _, l := range strings.Split(strings.TrimSpace(listing), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && parts[1] != "" && parts[2] == path {
			n++
		}
	}
	return n
}
