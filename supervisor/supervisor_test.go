package supervisor

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

func project(svcs ...*Service) *Project {
	p := &Project{Name: "p", Dir: "/", Services: map[string]*Service{}}
	for _, s := range svcs {
		p.Services[s.Name] = s
	}
	return p
}

func web(replicas int) *Service {
	return &Service{Name: "web", Image: "/img", Replicas: replicas, StopSignal: "SIGTERM", StopGrace: 10 * time.Second,
		Restart: RestartPolicy{Mode: RestartAlways}, Backoff: Backoff{Initial: time.Second, Max: time.Minute, Factor: 2, ResetAfter: 10 * time.Second},
		Ports: []Port{{Published: 8080, Target: 80, Protocol: "tcp"}}, Network: true, Logging: DefaultLogging}
}

func start(t *testing.T) *harness {
	return newHarness(t, newFakeRuntime(), newMemStore(), &fakeClock{now: time.Unix(1_000_000, 0)})
}

func (h *harness) running(svc string, n int) {
	h.t.Helper()
	h.eventually("replicas running", func() bool { s := h.status(svc); return s.Running == n && len(h.rt.running()) >= n })
}

func (h *harness) endpoints(k string) int {
	h.lb.mu.Lock()
	defer h.lb.mu.Unlock()
	return len(h.lb.eps[k])
}

func TestCrashIsReplacedAfterBackoff(t *testing.T) {
	h := start(t)
	if err := h.sup.Apply(context.Background(), project(web(3))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 3)
	h.eventually("3 endpoints", func() bool { return h.endpoints("p/web") == 3 })
	victim := h.rt.running()[0]
	h.rt.end(victim, Exit{Known: true, Code: 2})
	h.eventually("crash recorded and removed", func() bool {
		s := h.status("web")
		return s.Running == 2 && len(h.rt.running()) == 2 && h.endpoints("p/web") == 2
	})
	time.Sleep(20 * time.Millisecond) // nothing may start before the backoff: the clock has not moved
	if n := len(h.rt.running()); n != 2 {
		t.Fatalf("replaced before the backoff expired: %d running", n)
	}
	h.clk.Advance(999 * time.Millisecond)
	time.Sleep(20 * time.Millisecond)
	if n := len(h.rt.running()); n != 2 {
		t.Fatalf("replaced 1 ms early: %d running", n)
	}
	h.clk.Advance(time.Millisecond)
	h.running("web", 3)
	for _, id := range h.rt.running() {
		if id == victim {
			t.Fatal("the crashed container is still listed")
		}
	}
	var last *Exit
	for _, r := range h.status("web").Replicas {
		if r.Restarts == 1 {
			last = r.LastExit
		}
	}
	if last == nil || last.Code != 2 {
		t.Fatalf("last exit not kept: %+v", h.status("web").Replicas)
	}
}

func TestCrashLoopGivesUpThenRestartClears(t *testing.T) {
	h := start(t)
	s := web(1)
	s.Restart = RestartPolicy{Mode: RestartOnFailure, MaxAttempts: 2}
	if err := h.sup.Apply(context.Background(), project(s)); err != nil {
		t.Fatal(err)
	}
	crash := func() {
		h.running("web", 1)
		h.rt.end(h.rt.running()[0], Exit{Known: true, Code: 1})
		h.eventually("exit handled", func() bool { return h.status("web").Running == 0 && len(h.rt.running()) == 0 })
	}
	crash()                                // attempt 1 after 1 s
	h.clk.Advance(time.Second)             //
	crash()                                // attempt 2 after 2 s
	h.clk.Advance(1999 * time.Millisecond) // not yet
	time.Sleep(20 * time.Millisecond)
	if len(h.rt.running()) != 0 {
		t.Fatal("second restart came before 2 s")
	}
	h.clk.Advance(time.Millisecond)
	crash() // third failure: more than 2 restarts → gave up
	h.eventually("gave up", func() bool { return strings.Contains(h.status("web").GaveUp, "gave up after 2 restarts") })
	h.clk.Advance(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if len(h.rt.running()) != 0 {
		t.Fatal("restarted after giving up")
	}
	if err := h.sup.Restart("p/web"); err != nil {
		t.Fatal(err)
	}
	h.running("web", 1)
	if h.status("web").GaveUp != "" {
		t.Fatal("restart did not clear gave-up")
	}
}

func TestUnhealthyLeavesTrafficThenIsReplaced(t *testing.T) {
	h := start(t)
	s := web(1)
	s.Backoff.Initial = 0
	s.Health = &HealthCheck{Kind: ProbeExec, Command: []string{"true"}, Interval: time.Second, Timeout: time.Second, Retries: 2}
	if err := h.sup.Apply(context.Background(), project(s)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 1)
	first := h.rt.running()[0]
	if h.endpoints("p/web") != 0 {
		t.Fatal("in traffic before its first passing check")
	}
	h.probeTick(time.Second)
	h.eventually("healthy and in traffic", func() bool { return h.endpoints("p/web") == 1 })
	h.rt.mu.Lock()
	h.rt.execCode = 1
	h.rt.mu.Unlock()
	h.probeTick(time.Second)
	h.eventually("first failure", func() bool {
		in, _ := h.sup.Inspect("p/web")
		h.sup.mu.Lock()
		defer h.sup.mu.Unlock()
		return in != nil && h.sup.replicas[first] != nil && h.sup.replicas[first].Health.Failures == 1
	})
	h.probeTick(time.Second)
	h.eventually("replaced", func() bool {
		r := h.rt.running()
		return len(r) == 1 && r[0] != first
	})
	h.rt.mu.Lock()
	kills := strings.Join(h.rt.kills, ";")
	h.rt.mu.Unlock()
	if !strings.HasPrefix(kills, first+" 15 lb=0") {
		t.Fatalf("the stop signal must come after leaving the balancer: %q", kills)
	}
}

func TestGracefulStopKillsAfterGrace(t *testing.T) {
	h := start(t)
	h.rt.ignore = map[syscall.Signal]bool{syscall.SIGTERM: true}
	if err := h.sup.Apply(context.Background(), project(web(2))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 2)
	if err := h.sup.Apply(context.Background(), project(web(1))); err != nil {
		t.Fatal(err)
	}
	h.eventually("SIGTERM sent", func() bool { h.rt.mu.Lock(); defer h.rt.mu.Unlock(); return len(h.rt.kills) == 1 })
	h.clk.Advance(9 * time.Second)
	time.Sleep(20 * time.Millisecond)
	if len(h.rt.running()) != 2 {
		t.Fatal("killed before the grace period ended")
	}
	h.clk.Advance(time.Second)
	h.eventually("scaled to 1", func() bool { return len(h.rt.running()) == 1 && h.status("web").Running == 1 })
	h.rt.mu.Lock()
	defer h.rt.mu.Unlock()
	if len(h.rt.kills) != 2 || !strings.Contains(h.rt.kills[1], "p-web-2.1 9 ") {
		t.Fatalf("kills %q", h.rt.kills)
	}
}

func TestDependsOnHealthy(t *testing.T) {
	h := start(t)
	db := web(1)
	db.Name, db.Ports = "db", nil
	db.Health = &HealthCheck{Kind: ProbeExec, Command: []string{"true"}, Interval: time.Second, Timeout: time.Second, Retries: 1}
	w := web(1)
	w.DependsOn = map[string]string{"db": "service_healthy"}
	if err := h.sup.Apply(context.Background(), project(db, w)); err != nil {
		t.Fatal(err)
	}
	h.running("db", 1)
	time.Sleep(20 * time.Millisecond)
	if h.status("web").Running != 0 {
		t.Fatal("web started before db was healthy")
	}
	h.probeTick(time.Second)
	h.running("web", 1)
}

func TestDaemonDeathAdoptsWithoutDuplicates(t *testing.T) {
	rt, store, clk := newFakeRuntime(), newMemStore(), &fakeClock{now: time.Unix(1_000_000, 0)}
	h := newHarness(t, rt, store, clk)
	if err := h.sup.Apply(context.Background(), project(web(3))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 3)
	h.kill()
	before := rt.running()

	// What a daemon killed in the middle of scaling to 5 leaves behind: the desired state says
	// 5; slot 4's container was created but never started; slot 5's record was written but the
	// runtime never asked; and one container's record was lost (written after create).
	p := project(web(5))
	_ = store.PutProject(p)
	spec4, _ := BuildSpec(baseSpec(), p, p.Services["web"], &Replica{ID: "p-web-4.1", Slot: 4, Gen: 1, Revision: p.Services["web"].Revision()}, "/r", ImageConfig{Cmd: []string{"x"}})
	_, _ = rt.Create(context.Background(), "p-web-4.1", spec4, nil)
	_ = store.PutReplica(&Replica{ID: "p-web-4.1", Project: "p", Service: "web", Slot: 4, Gen: 1, State: Creating})
	_ = store.PutReplica(&Replica{ID: "p-web-5.1", Project: "p", Service: "web", Slot: 5, Gen: 1, State: Creating})
	_ = store.DeleteReplica(before[0])

	rt.mu.Lock()
	rt.children = false // the new daemon is nobody's parent
	rt.mu.Unlock()
	h2 := newHarness(t, rt, store, clk)
	h2.running("web", 5)
	got := rt.running()
	if len(got) != 5 {
		t.Fatalf("want exactly 5 running, got %v", got)
	}
	for _, id := range before {
		found := false
		for _, g := range got {
			found = found || g == id
		}
		if !found {
			t.Fatalf("adopted replica %s was replaced: %v", id, got)
		}
	}
	if _, ok := rt.cs["p-web-4.1"]; ok {
		t.Fatal("the half-made container was not removed")
	}
	// A replica that dies now has an unknowable status, and is still replaced.
	rt.end(before[1], Exit{Known: true, Code: 1})
	h2.eventually("exit recorded", func() bool { return h2.status("web").Running == 4 && len(rt.running()) == 4 })
	clk.Advance(time.Second)
	h2.eventually("replaced", func() bool { return len(rt.running()) == 5 && rt.running()[1] != before[1] })
	for _, r := range h2.status("web").Replicas {
		if r.LastExit != nil && r.LastExit.Known {
			t.Fatalf("an adopted replica's exit cannot be known: %+v", r.LastExit)
		}
	}
}

func TestDownLeavesNothing(t *testing.T) {
	h := start(t)
	if err := h.sup.Apply(context.Background(), project(web(2))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.sup.Down(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if n, _ := h.rt.List(ctx); len(n) != 0 {
		t.Fatalf("containers left: %v", n)
	}
	ps, _ := h.store.Projects()
	rs, _ := h.store.Replicas()
	ss, _ := h.store.Services()
	if len(ps)+len(rs)+len(ss) != 0 {
		t.Fatalf("store not empty: %d projects %d replicas %d services", len(ps), len(rs), len(ss))
	}
	if len(h.lb.eps) != 0 {
		t.Fatal("balancer entries left")
	}
	if err := h.sup.Down(ctx, "p"); err == nil {
		t.Fatal("down of a project that is not up must fail")
	}
}

func TestFailedStartBacksOff(t *testing.T) {
	h := start(t)
	h.rt.failNext = errTest
	if err := h.sup.Apply(context.Background(), project(web(1))); err != nil {
		t.Fatal(err)
	}
	h.eventually("failure recorded", func() bool {
		r := h.status("web").Replicas
		return len(r) == 1 && r[0].LastExit != nil && strings.Contains(r[0].LastExit.Reason, "start failed")
	})
	h.clk.Advance(time.Second)
	h.running("web", 1)
}

var errTest = errString("no space left on device")

type errString string

func (e errString) Error() string { return string(e) }
