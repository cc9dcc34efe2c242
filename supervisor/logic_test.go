package supervisor

import (
	"strings"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := DefaultBackoff
	ms := time.Millisecond
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{0, 0.5, 0},
		{1, 0.5, 100 * ms},
		{2, 0.5, 200 * ms},
		{3, 0.5, 400 * ms},
		{9, 0.5, 25600 * ms},
		{10, 0.5, 30 * time.Second}, // 51.2 s capped
		{40, 0.5, 30 * time.Second},
		{1, 0, 90 * ms},  // -10 %
		{1, 1, 110 * ms}, // +10 % (r never reaches 1; the bound)
		{10, 0, 27 * time.Second},
	} {
		if got := b.Delay(tc.n, tc.r); got != tc.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", tc.n, tc.r, got, tc.want)
		}
	}
	if d := (Backoff{Initial: 0, Factor: 2}).Delay(5, 0.5); d != 0 {
		t.Errorf("initial 0 must mean no delay, got %v", d)
	}
}

func TestAfterExit(t *testing.T) {
	now := time.Unix(1000, 0)
	fail := Exit{Known: true, Code: 1}
	ok := Exit{Known: true}
	b := Backoff{Initial: time.Second, Max: time.Minute, Factor: 2, ResetAfter: 10 * time.Second}
	for _, tc := range []struct {
		name      string
		slot      Slot
		pol       RestartPolicy
		exit      Exit
		ran       time.Duration
		attempts  int
		next      time.Duration // after now; -1: none
		done      bool
		giveUpHas string
	}{
		{"always restarts a clean exit", Slot{}, RestartPolicy{Mode: RestartAlways}, ok, 0, 1, time.Second, false, ""},
		{"backoff grows", Slot{Attempts: 2}, RestartPolicy{Mode: RestartAlways}, fail, time.Second, 3, 4 * time.Second, false, ""},
		{"reset after healthy running", Slot{Attempts: 5}, RestartPolicy{Mode: RestartAlways}, fail, 10 * time.Second, 1, time.Second, false, ""},
		{"no: done", Slot{}, RestartPolicy{Mode: RestartNo}, fail, 0, 0, -1, true, ""},
		{"on-failure: clean exit is done", Slot{}, RestartPolicy{Mode: RestartOnFailure}, ok, 0, 0, -1, true, ""},
		{"on-failure: unknown status restarts", Slot{}, RestartPolicy{Mode: RestartOnFailure}, Exit{Reason: "vanished"}, 0, 1, time.Second, false, ""},
		{"on-failure: OOM restarts", Slot{}, RestartPolicy{Mode: RestartOnFailure}, Exit{Known: true, OOMKilled: true}, 0, 1, time.Second, false, ""},
		{"max attempts reached", Slot{Attempts: 3, Restarts: []time.Time{now, now, now}}, RestartPolicy{Mode: RestartOnFailure, MaxAttempts: 3}, fail, 0, 4, -1, false, "gave up after 3 restarts"},
		{"window forgets old restarts", Slot{Attempts: 3, Restarts: []time.Time{now.Add(-time.Hour), now.Add(-time.Hour), now.Add(-time.Second)}},
			RestartPolicy{Mode: RestartOnFailure, MaxAttempts: 2, Window: time.Minute}, fail, 0, 4, 8 * time.Second, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, giveUp := afterExit(tc.slot, tc.pol, b, tc.exit, tc.ran, now, 0.5)
			if got.Attempts != tc.attempts || got.Done != tc.done {
				t.Errorf("attempts %d done %v, want %d %v", got.Attempts, got.Done, tc.attempts, tc.done)
			}
			if tc.next >= 0 && !got.NextStart.Equal(now.Add(tc.next)) {
				t.Errorf("next start +%v, want +%v", got.NextStart.Sub(now), tc.next)
			}
			if tc.next < 0 && !got.NextStart.IsZero() && !tc.slot.NextStart.Equal(got.NextStart) {
				t.Errorf("next start set to +%v, want none", got.NextStart.Sub(now))
			}
			if (tc.giveUpHas == "") != (giveUp == "") || !strings.Contains(giveUp, tc.giveUpHas) {
				t.Errorf("give up %q, want %q", giveUp, tc.giveUpHas)
			}
			if got.LastExit == nil || *got.LastExit != tc.exit {
				t.Errorf("last exit not recorded")
			}
		})
	}
}

func TestHealthNext(t *testing.T) {
	start := time.Unix(1000, 0)
	hc := &HealthCheck{Retries: 2, StartPeriod: 10 * time.Second}
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	type step struct {
		ok   bool
		t    int
		want HealthStatus
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"success makes healthy", []step{{true, 1, HealthHealthy}}},
		{"failures in start period do not count", []step{{false, 1, HealthStarting}, {false, 2, HealthStarting}, {false, 11, HealthStarting}, {false, 12, HealthUnhealthy}}},
		{"healthy then retries failures", []step{{true, 1, HealthHealthy}, {false, 2, HealthHealthy}, {false, 3, HealthUnhealthy}}},
		{"a success resets the count", []step{{true, 1, HealthHealthy}, {false, 2, HealthHealthy}, {true, 3, HealthHealthy}, {false, 4, HealthHealthy}}},
		{"unhealthy is final", []step{{false, 11, HealthStarting}, {false, 12, HealthUnhealthy}, {true, 13, HealthUnhealthy}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Health{Status: HealthStarting}
			for i, s := range tc.steps {
				h = h.Next(s.ok, "out", at(s.t), start, hc)
				if h.Status != s.want {
					t.Fatalf("step %d: %s, want %s", i, h.Status, s.want)
				}
			}
		})
	}
}

func TestDiff(t *testing.T) {
	now := time.Unix(1000, 0)
	svc := &Service{Name: "web", Image: "/img", Replicas: 3}
	rev := svc.Revision()
	rep := func(slot, gen int, st ReplicaState, h HealthStatus) *Replica {
		return &Replica{ID: ReplicaID("p", "web", slot, gen), Project: "p", Service: "web", Slot: slot, Gen: gen,
			Revision: rev, State: st, Health: Health{Status: h}, Created: now.Add(-time.Minute)}
	}
	type act = Action
	for _, tc := range []struct {
		name string
		v    View
		want []Action
		wake time.Time
	}{
		{"fresh service starts every slot", View{Service: svc, DepsReady: true},
			[]act{{Kind: ActStart, Slot: 1}, {Kind: ActStart, Slot: 2}, {Kind: ActStart, Slot: 3}}, time.Time{}},
		{"converged: nothing", View{Service: svc, DepsReady: true, Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(2, 1, Running, HealthNone), rep(3, 1, Creating, HealthNone)}},
			nil, time.Time{}},
		{"exited is deleted and its slot waits for backoff", View{Service: svc, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(2, 1, Exited, HealthNone), rep(3, 1, Running, HealthNone)},
			Slots:    map[int]*Slot{2: {NextStart: now.Add(time.Second)}}},
			[]act{{Kind: ActDelete, Slot: 2, Replica: "p-web-2.1"}}, now.Add(time.Second)},
		{"expired backoff starts", View{Service: svc, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(3, 1, Running, HealthNone)},
			Slots:    map[int]*Slot{2: {NextStart: now}}},
			[]act{{Kind: ActStart, Slot: 2}}, time.Time{}},
		{"scale down stops the high slots", View{Service: &Service{Name: "web", Image: "/img", Replicas: 1}, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(2, 1, Running, HealthNone), rep(3, 1, Running, HealthNone)}},
			[]act{{Kind: ActStop, Slot: 2, Replica: "p-web-2.1", Reason: ReasonScaled}, {Kind: ActStop, Slot: 3, Replica: "p-web-3.1", Reason: ReasonScaled}}, time.Time{}},
		{"unhealthy is stopped, not yet replaced", View{Service: svc, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthUnhealthy), rep(2, 1, Running, HealthHealthy), rep(3, 1, Running, HealthStarting)}},
			[]act{{Kind: ActStop, Slot: 1, Replica: "p-web-1.1", Reason: ReasonUnhealthy}}, time.Time{}},
		{"stopping replicas free their slot", View{Service: svc, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Stopping, HealthNone), rep(2, 1, Running, HealthNone), rep(3, 1, Running, HealthNone)}},
			[]act{{Kind: ActStart, Slot: 1}}, time.Time{}},
		{"removed service: stop all, start none", View{DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(2, 1, Exited, HealthNone)}},
			[]act{{Kind: ActDelete, Slot: 2, Replica: "p-web-2.1"}, {Kind: ActStop, Slot: 1, Replica: "p-web-1.1", Reason: ReasonRemoved}}, time.Time{}},
		{"duplicate in a slot: the healthy one stays", View{Service: &Service{Name: "web", Image: "/img", Replicas: 1}, DepsReady: true,
			Replicas: []*Replica{rep(1, 1, Running, HealthHealthy), rep(1, 2, Running, HealthStarting)}},
			[]act{{Kind: ActStop, Slot: 1, Replica: "p-web-1.2", Reason: ReasonDuplicate}}, time.Time{}},
		{"gave up: no starts", View{Service: svc, DepsReady: true, GaveUp: "x"}, nil, time.Time{}},
		{"done slot stays empty", View{Service: &Service{Name: "web", Image: "/img", Replicas: 1}, DepsReady: true, Slots: map[int]*Slot{1: {Done: true}}}, nil, time.Time{}},
		{"dependencies not ready: wait", View{Service: svc}, nil, time.Time{}},
		{"restart replaces older replicas", View{Service: &Service{Name: "web", Image: "/img", Replicas: 1}, DepsReady: true, Restarted: now,
			Replicas: []*Replica{rep(1, 1, Running, HealthNone)}},
			[]act{{Kind: ActStop, Slot: 1, Replica: "p-web-1.1", Reason: ReasonRestart}}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.v.Now = now
			// A replica of another revision is replaced: covered by a copy with a changed image.
			p := Diff(tc.v)
			if len(p.Actions) != len(tc.want) {
				t.Fatalf("actions %+v, want %+v", p.Actions, tc.want)
			}
			for i := range p.Actions {
				if p.Actions[i] != tc.want[i] {
					t.Errorf("action %d: %+v, want %+v", i, p.Actions[i], tc.want[i])
				}
			}
			if !p.WakeAt.Equal(tc.wake) {
				t.Errorf("wake %v, want %v", p.WakeAt, tc.wake)
			}
		})
	}
	t.Run("changed revision is replaced", func(t *testing.T) {
		changed := *svc
		changed.Image = "/other"
		p := Diff(View{Now: now, Service: &changed, DepsReady: true, Replicas: []*Replica{rep(1, 1, Running, HealthNone), rep(2, 1, Running, HealthNone), rep(3, 1, Running, HealthNone)}})
		// No ports: stop-first, one slot at a time.
		if len(p.Actions) != 1 || p.Actions[0].Reason != ReasonChanged {
			t.Fatalf("%+v", p.Actions)
		}
	})
	t.Run("replicas and restart settings keep the revision", func(t *testing.T) {
		c := *svc
		c.Replicas, c.Restart.Mode, c.Backoff.Initial = 7, RestartAlways, time.Hour
		if c.Revision() != rev {
			t.Fatal("revision changed")
		}
	})
}
