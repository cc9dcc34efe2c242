//go:build integration

package netns

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// killRecorder SIGKILLs its own process once the step numbered at has been made: a crash
// at a known point of a setup.
type killRecorder struct {
	at, n int
}

func (r *killRecorder) Step(op, args string, err error, took time.Duration) {
	if r.n == r.at {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // never returns
	}
	r.n++
}

var crashPorts = []Port{{"tcp", 8181, 7000}, {"udp", 8181, 7001}}

// TestCrashChild is not a test on its own: TestCrashAnywhere runs the test binary again with
// HULL_CRASH_STATE set, and this attaches a container and publishes its ports, to die at
// step HULL_CRASH_AT (or, when that is past the end, to exit normally, as a hull whose
// container dies later). It prints how many steps it made.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("HULL_CRASH_STATE")
	if dir == "" {
		return
	}
	at, _ := strconv.Atoi(os.Getenv("HULL_CRASH_AT"))
	rec := &killRecorder{at: at}
	s, err := Open(dir, rec, HostNetNS(os.Getenv("HULL_CRASH_HOST")))
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Attach(ctx, "crash", "c1", os.Getenv("HULL_CRASH_CTR"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.PublishService(ctx, Service{Name: "svc", Network: "crash", Owner: "c1", Ports: crashPorts,
		Endpoints: []Endpoint{{ID: "c1", Addr: a.Addr.Addr()}}})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("steps=%d\n", rec.n)
}

// TestCrashAnywhere kills a process with SIGKILL after each kernel step of attaching a
// container and publishing its ports (and once after the whole setup), then shows that
// Collect, finding the container dead, leaves nothing: no lease, no host veth, no service
// file or chain, no relay process, and 127.0.0.1's port free again.
func TestCrashAnywhere(t *testing.T) {
	e := newEnv(t)
	s := e.store
	if _, err := s.Create(ctx, "crash", netip.MustParsePrefix("10.97.0.0/24")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Remove(ctx, "crash"); err != nil {
			t.Errorf("remove network: %v", err)
		}
	})
	c1 := e.newNS("c1")
	run := func(at int) string {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "HULL_CRASH_STATE="+filepath.Join(e.dir, "state"), "HULL_CRASH_AT="+strconv.Itoa(at),
			"HULL_CRASH_HOST="+e.host, "HULL_CRASH_CTR="+c1)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := run(1 << 30)
	var steps int
	if _, err := fmt.Sscanf(out[strings.Index(out, "steps="):], "steps=%d", &steps); err != nil || steps < 8 {
		t.Fatalf("child without a crash: %v, output %q", err, out)
	}
	t.Logf("%d steps", steps)
	e.collectAndCheck(c1, "after a clean exit")
	for at := 0; at < steps; at++ {
		if out := run(at); strings.Contains(out, "steps=") {
			t.Fatalf("child did not die at step %d: %s", at, out)
		}
		e.collectAndCheck(c1, fmt.Sprintf("after a crash at step %d of %d", at, steps))
	}
}

// collectAndCheck runs Collect with every container dead and fails the test if anything
// of the crash network's container or service is left.
func (e *env) collectAndCheck(ctr, when string) {
	t := e.t
	t.Helper()
	if err := e.store.Collect(ctx, func(string) bool { return false }); err != nil {
		t.Fatalf("%s: Collect: %v", when, err)
	}
	if as, err := e.store.Attachments("crash"); err != nil || len(as) != 0 {
		t.Errorf("%s: leases left: %v %v", when, as, err)
	}
	if svcs, err := e.store.Services(); err != nil || len(svcs) != 0 {
		t.Errorf("%s: services left: %v %v", when, svcs, err)
	}
	if got := links(t, e.host); !slices.Equal(got, []string{"hull-crash", "lo"}) {
		t.Errorf("%s: links in the host netns: %v", when, got)
	}
	if got := links(t, ctr); !slices.Equal(got, []string{"lo"}) {
		t.Errorf("%s: links in the container netns: %v", when, got)
	}
	c, err := e.store.nftConn()
	if err != nil {
		t.Fatal(err)
	}
	if chains, err := serviceChains(c, ""); err != nil || len(chains) != 0 {
		t.Errorf("%s: service chains left: %v %v", when, chains, err)
	}
	if pids := relaysIn(t, e.host); len(pids) != 0 {
		t.Errorf("%s: hull-relay processes left: %v", when, pids)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL) // ours: started by this test's child in its own netns
		}
	}
	inNSPath(t, e.host, func() error {
		for _, p := range crashPorts {
			fd, err := loopbackSocket(p)
			if err != nil {
				t.Errorf("%s: 127.0.0.1:%d/%s still taken: %v", when, p.HostPort, p.Proto, err)
				continue
			}
			unix.Close(fd)
		}
		return nil
	})
}

// relaysIn lists the hull-relay processes whose network namespace is the one at path (the
// test's own: no other relay can be in it).
func relaysIn(t testing.TB, path string) []int {
	t.Helper()
	var want unix.Stat_t
	if err := unix.Stat(path, &want); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, ent := range ents {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !bytes.HasPrefix(cmdline, []byte("hull-relay\x00")) {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) == nil && st.Ino == want.Ino && st.Dev == want.Dev {
			out = append(out, pid)
		}
	}
	return out
}
