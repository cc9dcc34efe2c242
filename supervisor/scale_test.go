package supervisor

import (
	"context"
	"strings"
	"testing"
)

func TestParseScale(t *testing.T) {
	for _, tc := range []struct {
		in   string
		svc  string
		n    int
		fail bool
	}{
		{"web=5", "web", 5, false},
		{"p/web=0", "p/web", 0, false},
		{"web", "", 0, true},
		{"=3", "", 0, true},
		{"web=-1", "", 0, true},
		{"web=x", "", 0, true},
	} {
		svc, n, err := ParseScale(tc.in)
		if (err != nil) != tc.fail || svc != tc.svc || n != tc.n {
			t.Errorf("ParseScale(%q) = %q, %d, %v", tc.in, svc, n, err)
		}
	}
}

// Scaling down stops the highest slots, each out of the balancer before its stop signal.
func TestScaleDownDrainsHighestSlots(t *testing.T) {
	h := start(t)
	if err := h.sup.Apply(context.Background(), project(web(2))); err != nil {
		t.Fatal(err)
	}
	h.running("web", 2)
	if err := h.sup.Scale("p/web", 4); err != nil {
		t.Fatal(err)
	}
	h.running("web", 4)
	h.eventually("4 endpoints", func() bool { return h.endpoints("p/web") == 4 })
	if err := h.sup.Scale("p/web", 1); err != nil {
		t.Fatal(err)
	}
	h.eventually("1 left", func() bool { return len(h.rt.running()) == 1 && h.endpoints("p/web") == 1 })
	if got := h.rt.running(); got[0] != "p-web-1.1" {
		t.Fatalf("kept %v, want the oldest slot", got)
	}
	h.rt.mu.Lock()
	kills := h.rt.kills
	h.rt.mu.Unlock()
	for _, k := range kills {
		// Three stops of one pass, signalled after the balancer dropped all three.
		if !strings.Contains(k, " 15 lb=") || !strings.HasSuffix(k, "lb=1") {
			t.Errorf("stop signal while still in the balancer: %v", kills)
		}
	}
	if s := h.status("web"); s.Desired != 1 || len(s.Replicas) != 1 {
		t.Fatalf("status %+v", s)
	}
}
