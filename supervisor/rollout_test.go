package supervisor

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func (h *harness) revisions(svc string) map[string]int {
	out := map[string]int{}
	for _, r := range h.status(svc).Replicas {
		if r.State == string(Running) {
			out[r.Revision]++
		}
	}
	return out
}

// A changed service is rolled out start-first (it has ports): the balancer never has fewer
// than the desired replicas, and the rollout completes after its monitor period.
func TestRollingUpdateStartFirstKeepsCapacity(t *testing.T) {
	h := start(t)
	v1 := web(3)
	if err := h.sup.Apply(context.Background(), project(v1)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 3)
	h.eventually("3 endpoints", func() bool { return h.endpoints("p/web") == 3 })
	h.lb.mu.Lock()
	h.lb.log = nil
	h.lb.mu.Unlock()
	v2 := web(3)
	v2.Image = "/img2"
	if err := h.sup.Apply(context.Background(), project(v2)); err != nil {
		t.Fatal(err)
	}
	h.eventually("all replicas of the new revision", func() bool {
		r := h.revisions("web")
		return r[v2.Revision()] == 3 && len(r) == 1 && len(h.rt.running()) == 3
	})
	h.lb.mu.Lock()
	for _, n := range h.lb.log {
		if x, _ := strconv.Atoi(n); x < 3 {
			t.Errorf("the balancer had %s endpoints during the update: %v", n, h.lb.log)
			break
		}
	}
	h.lb.mu.Unlock()
	if u := h.status("web").Update; u == nil || u.State != RolloutUpdating {
		t.Fatalf("update %+v, want updating until the monitor period passed", u)
	}
	h.clk.Advance(DefaultMonitor)
	h.eventually("completed", func() bool { u := h.status("web").Update; return u != nil && u.State == RolloutCompleted })
	hist, _ := h.sup.History("p/web")
	if len(hist) != 2 || hist[0].Revision != v1.Revision() || hist[1].Revision != v2.Revision() {
		t.Fatalf("history %+v", hist)
	}
}

// A new revision whose replicas cannot start is rolled back on its own: the old replicas
// never stopped (start-first), and the history records the rollback.
func TestFailingRevisionRollsBack(t *testing.T) {
	h := start(t)
	v1 := web(2)
	if err := h.sup.Apply(context.Background(), project(v1)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 2)
	before := h.rt.running()
	h.rt.mu.Lock()
	h.rt.failNext = errors.New("exec format error")
	h.rt.mu.Unlock()
	v2 := web(2)
	v2.Image = "/broken"
	if err := h.sup.Apply(context.Background(), project(v2)); err != nil {
		t.Fatal(err)
	}
	h.eventually("rolling back", func() bool {
		s := h.status("web")
		return s.Update != nil && s.Update.State == RolloutRollingBack && s.Revision == v1.Revision()
	})
	h.eventually("a timer armed", func() bool { return h.clk.armed() > 0 })
	h.clk.Advance(DefaultMonitor)
	h.eventually("rolled back", func() bool { u := h.status("web").Update; return u != nil && u.State == RolloutRolledBack })
	if got := h.rt.running(); len(got) != 2 || got[0] != before[0] || got[1] != before[1] {
		t.Fatalf("running %v, want the untouched %v", got, before)
	}
	hist, _ := h.sup.History("p/web")
	if len(hist) != 3 || hist[2].Revision != v1.Revision() || hist[2].Cause != "automatic rollback" {
		t.Fatalf("history %+v", hist)
	}
	// `service rollback` goes back to the newest other revision: the broken one again.
	if err := h.sup.Rollback("p/web"); err != nil {
		t.Fatal(err)
	}
	if s := h.status("web"); s.Revision != v2.Revision() {
		t.Fatalf("revision %s after rollback, want %s", s.Revision, v2.Revision())
	}
}

// failure_action pause stops touching slots after the first failure.
func TestFailingRevisionPauses(t *testing.T) {
	h := start(t)
	v1 := web(2)
	if err := h.sup.Apply(context.Background(), project(v1)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 2)
	h.rt.mu.Lock()
	h.rt.failNext = errors.New("exec format error")
	h.rt.mu.Unlock()
	v2 := web(2)
	v2.Image = "/broken"
	v2.Update = &UpdateConfig{Parallelism: 1, FailureAction: "pause"}
	if err := h.sup.Apply(context.Background(), project(v2)); err != nil {
		t.Fatal(err)
	}
	h.eventually("paused", func() bool { u := h.status("web").Update; return u != nil && u.State == RolloutPaused })
	h.clk.Advance(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if r := h.revisions("web"); r[v1.Revision()] != 2 {
		t.Fatalf("revisions %v: a paused update went on", r)
	}
}
