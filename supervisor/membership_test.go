package supervisor

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// recordLB watches the store: each time a replica's exit or unhealthy status is written, it
// notes whether the balancer still had the replica's address at that moment.
type recordLB struct {
	mu    sync.Mutex
	stale []string // replica ids recorded as failed while still in the balancer
	seen  int
}

func (rec *recordLB) hook(lb *fakeBalancer) func(Replica) {
	return func(r Replica) {
		if r.State != Exited && r.Health.Status != HealthUnhealthy {
			return
		}
		a, err := netip.ParseAddr(r.Address)
		if err != nil {
			return
		}
		lb.mu.Lock()
		in := slices.Contains(lb.eps["p/web"], a)
		lb.mu.Unlock()
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.seen++
		if in {
			rec.stale = append(rec.stale, r.ID)
		}
	}
}

func (rec *recordLB) check(t *testing.T) {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.seen == 0 {
		t.Fatal("no failure was recorded")
	}
	if len(rec.stale) > 0 {
		t.Fatalf("recorded as failed while still in the balancer: %v", rec.stale)
	}
}

// A replica that exits on its own leaves the balancer before its exit reaches the store (and so
// before ps or events can show it): the exit is recorded no earlier than the balancer change.
func TestExitLeavesBalancerBeforeItIsRecorded(t *testing.T) {
	store := newMemStore()
	rec := &recordLB{}
	h := newHarness(t, newFakeRuntime(), store, &fakeClock{now: time.Unix(1_000_000, 0)})
	store.onPut = rec.hook(h.lb)
	if err := h.sup.Apply(context.Background(), project(web(3))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 3)
	h.eventually("3 endpoints", func() bool { return h.endpoints("p/web") == 3 })
	for _, id := range h.rt.running() {
		h.rt.end(id, Exit{Known: true, Signal: "SIGKILL"})
	}
	h.eventually("exits recorded", func() bool { return h.status("web").Running == 0 })
	rec.check(t)
	if n := h.endpoints("p/web"); n != 0 {
		t.Fatalf("%d endpoints left", n)
	}
}

// The same for a failed health check: out of the balancer, then unhealthy in the store.
func TestUnhealthyLeavesBalancerBeforeItIsRecorded(t *testing.T) {
	store := newMemStore()
	rec := &recordLB{}
	h := newHarness(t, newFakeRuntime(), store, &fakeClock{now: time.Unix(1_000_000, 0)})
	store.onPut = rec.hook(h.lb)
	s := web(1)
	s.Health = &HealthCheck{Kind: ProbeExec, Command: []string{"true"}, Interval: time.Second, Timeout: time.Second, Retries: 1}
	if err := h.sup.Apply(context.Background(), project(s)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 1)
	h.probeTick(time.Second)
	h.eventually("healthy and in traffic", func() bool { return h.endpoints("p/web") == 1 })
	h.rt.mu.Lock()
	h.rt.execCode = 1
	h.rt.mu.Unlock()
	h.probeTick(time.Second)
	h.eventually("unhealthy recorded", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.seen > 0
	})
	rec.check(t)
}
