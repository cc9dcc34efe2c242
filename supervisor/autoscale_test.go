package supervisor

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRecommend(t *testing.T) {
	a := Autoscale{Min: 1, Max: 5, TargetCPU: 0.7, Interval: 5 * time.Second, Window: 30 * time.Second}
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	u := func(xs ...float64) []float64 { return xs }
	for _, tc := range []struct {
		name    string
		a       Autoscale
		now     int
		current int
		usage   []float64
		hist    []Rec
		last    int // seconds; <0: never
		want    int
		held    bool
		reason  string
	}{
		{"no samples yet: hold", a, 0, 2, nil, nil, -1, 2, false, "no usage sample"},
		{"on target: no change", a, 0, 2, u(0.7, 0.7), nil, -1, 2, false, "cpu 70% of target 70%"},
		{"within tolerance: no change", a, 0, 2, u(0.75, 0.75), nil, -1, 2, false, ""},
		{"twice the target: up at once", a, 0, 2, u(1.4, 1.4), nil, -1, 4, false, "2 → 4 replicas: cpu 140%"},
		{"up is capped at max", a, 0, 3, u(1.4, 1.4, 1.4), nil, -1, 5, false, "6 clamped to 5"},
		{"idle, but the window saw 4: held", a, 10, 4, u(0.1, 0.1, 0.1, 0.1), []Rec{{at(0), 4}}, -1, 4, true, "held at 4: the 30s window saw 4"},
		{"idle after the window: down", a, 31, 4, u(0.1, 0.1, 0.1, 0.1), []Rec{{at(0), 4}}, -1, 1, false, "4 → 1"},
		{"down only to the window's max", a, 31, 4, u(0.1, 0.1, 0.1, 0.1), []Rec{{at(0), 4}, {at(20), 3}}, -1, 3, false, "down to 3, the highest in the 30s window"},
		{"never below min", Autoscale{Min: 2, Max: 5, TargetCPU: 0.5}, 0, 3, u(0, 0, 0), nil, -1, 2, false, "clamped to 2"},
		{"up window: the lowest recommendation", Autoscale{Min: 1, Max: 9, TargetCPU: 0.5, UpWindow: 10 * time.Second, Window: 30 * time.Second},
			5, 2, u(2, 2), []Rec{{at(0), 3}}, -1, 3, false, "up to 3, the lowest in the 10s up window"},
		{"cooldown holds a change", Autoscale{Min: 1, Max: 5, TargetCPU: 0.7, Cooldown: 20 * time.Second}, 10, 2, u(1.4, 1.4), nil, 0, 2, true, "cooldown"},
		{"cooldown over", Autoscale{Min: 1, Max: 5, TargetCPU: 0.7, Cooldown: 20 * time.Second}, 21, 2, u(1.4, 1.4), nil, 0, 4, false, ""},
		{"out of range is fixed despite cooldown", Autoscale{Min: 2, Max: 5, TargetCPU: 0.7, Cooldown: time.Minute}, 1, 1, nil, nil, 0, 2, false, "1 → 2"},
		{"scaled on ready replicas only", a, 0, 4, u(1.4), nil, -1, 2, false, "over 1 ready"},
	} {
		last := time.Time{}
		if tc.last >= 0 {
			last = at(tc.last)
		}
		d, _ := Recommend(tc.a, at(tc.now), tc.current, tc.usage, tc.hist, last)
		if d.N != tc.want || d.Held != tc.held || !strings.Contains(d.Reason, tc.reason) {
			t.Errorf("%s: %+v, want %d held=%v reason ~%q", tc.name, d, tc.want, tc.held, tc.reason)
		}
	}
}

// A load that swings every 10 s between 3 and 0.5 replicas' worth does not make the count
// flap: it goes up once and stays, while a load that drops for good comes down after the window.
func TestRecommendDoesNotFlap(t *testing.T) {
	a := Autoscale{Min: 1, Max: 10, TargetCPU: 0.5, Interval: 5 * time.Second, Window: 30 * time.Second}
	now, n := time.Unix(0, 0), 1
	var hist []Rec
	var last time.Time
	changes := 0
	step := func(total float64) {
		usage := make([]float64, n)
		for i := range usage {
			usage[i] = total / float64(n)
		}
		var d ScaleDecision
		d, hist = Recommend(a, now, n, usage, hist, last)
		if d.N != n {
			changes++
			n, last = d.N, now
		}
		now = now.Add(a.Interval)
	}
	for i := range 24 { // 2 minutes of a swinging load
		if i/2%2 == 0 {
			step(1.5)
		} else {
			step(0.25)
		}
	}
	if changes != 1 || n != 3 {
		t.Fatalf("swinging load: %d changes, ending at %d; want one change to 3", changes, n)
	}
	lastHigh := now.Add(-3 * a.Interval) // the swing's last high sample
	for n == 3 && now.Sub(lastHigh) < 2*a.Window {
		step(0.1)
	}
	if since := now.Add(-a.Interval).Sub(lastHigh); n != 1 || since <= a.Window {
		t.Fatalf("idle: %d replicas %s after the last peak; want 1, after the %s window", n, since, a.Window)
	}
}

// Through the supervisor with a fake meter: a busy replica makes the service scale up at
// once, an idle one scales it down only after the window, and each decision is an event.
func TestAutoscaleScalesOnCPU(t *testing.T) {
	h := start(t)
	svc := web(1)
	svc.Autoscale = &Autoscale{Min: 1, Max: 4, TargetCPU: 0.5, Interval: time.Second, Window: 5 * time.Second}
	if err := h.sup.Apply(context.Background(), project(svc)); err != nil {
		t.Fatal(err)
	}
	h.running("web", 1)
	step := func(rate float64) {
		h.rt.mu.Lock()
		h.rt.cpuRate = rate
		h.rt.mu.Unlock()
		h.clk.Advance(time.Second)
		h.sup.autoscale()
	}
	h.sup.autoscale() // the first sample
	step(1)           // one CPU busy, target half of one: 2 replicas
	h.running("web", 2)
	step(0.1)
	if n := h.status("web").Desired; n != 2 {
		t.Fatalf("scaled to %d inside the window", n)
	}
	for range 5 {
		step(0.1)
	}
	h.running("web", 1)
	recent, _, cancel := h.sup.bus.subscribe()
	cancel()
	var got []string
	for _, e := range recent {
		if strings.HasPrefix(e.Type, "autoscale") {
			got = append(got, e.Type+": "+e.Reason)
		}
	}
	if len(got) != 3 || !strings.HasPrefix(got[0], "autoscale: 1 → 2 replicas: cpu 100% of target 50%") ||
		!strings.HasPrefix(got[1], "autoscale-hold: ") || !strings.HasPrefix(got[2], "autoscale: 2 → 1 replicas") {
		t.Fatalf("events:\n%s", strings.Join(got, "\n"))
	}
	// `hull up` again keeps the autoscaled count (1 here; deploy.replicas says 3).
	again := web(3)
	again.Autoscale = svc.Autoscale
	if err := h.sup.Apply(context.Background(), project(again)); err != nil {
		t.Fatal(err)
	}
	if n := h.status("web").Desired; n != 1 {
		t.Fatalf("up again: %d desired, want the autoscaler's 1", n)
	}
}
