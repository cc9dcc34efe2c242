package supervisor

import (
	"fmt"
	"math"
	"time"
)

// Autoscaling sets a service's replica count from its replicas' CPU usage, the way Kubernetes'
// HorizontalPodAutoscaler does from the same cgroup counter (cpuacct.usage on v1, cpu.stat
// usage_usec on v2, read through the runtime's Usage):
//
//   - every interval, each ready replica's CPU time is sampled; usage is the growth since the
//     last sample over the time between them, as a fraction of the replica's CPU (its
//     reservation, else its limit, else one CPU: what it asked for);
//   - the raw recommendation is ⌈replicas × mean usage / target⌉, clamped to [min, max], and
//     none when the mean is within 10 % of the target (the HPA's tolerance: noise does not
//     move it);
//   - stabilisation: up at once (to the lowest recommendation of the up window, 0 by default),
//     down only to the highest recommendation of the down window (window, 30 s by default), so
//     a dip in load does not remove replicas that the next peak needs again;
//   - after any change, cooldown passes before the next (the new replicas' usage has to show).
//
// Every change is an event ("autoscale") with its reason; a scale-down held back by the window
// is one too ("autoscale-hold"), once per held value. The history is the daemon's memory: a
// restarted daemon starts a fresh window, holding the count it finds.

// Autoscale is x-hull autoscale.
type Autoscale struct {
	Min       int           `json:"min"`
	Max       int           `json:"max"`
	TargetCPU float64       `json:"targetCpu"`          // 0.7: 70 % of each replica's CPU
	Interval  time.Duration `json:"interval"`           // sampling period; default 5s
	Window    time.Duration `json:"window"`             // scale-down stabilisation; default 30s
	UpWindow  time.Duration `json:"upWindow,omitempty"` // scale-up stabilisation; default 0
	Cooldown  time.Duration `json:"cooldown,omitempty"` // after a change; default 0
}

// autoscaleTolerance is the HPA's: within ±10 % of the target nothing moves.
const autoscaleTolerance = 0.1

// autoscaleTick is how often the daemon looks whether a service is due for a sample.
const autoscaleTick = 250 * time.Millisecond

// Rec is one raw recommendation, kept for the stabilisation windows.
type Rec struct {
	At time.Time
	N  int
}

// ScaleDecision is what Recommend decided.
type ScaleDecision struct {
	N      int    // the replicas to run; == current: no change
	Raw    int    // the unstabilised recommendation
	Reason string // for the event
	Held   bool   // Raw differs from current, but a window or the cooldown held it
}

// Recommend is the autoscaler's pure step: the current replica count, the usage of each ready
// replica (fraction of its CPU) over the last interval, the recommendations so far and the
// time of the last change. It returns the decision and the history to keep.
func Recommend(a Autoscale, now time.Time, current int, usage []float64, hist []Rec, lastChange time.Time) (ScaleDecision, []Rec) {
	raw := current
	mean := 0.0
	for _, u := range usage {
		mean += u
	}
	why := ""
	switch {
	case len(usage) == 0:
		why = "no usage sample yet"
	default:
		mean /= float64(len(usage))
		ratio := mean / a.TargetCPU
		why = fmt.Sprintf("cpu %.0f%% of target %.0f%% over %d ready", mean*100, a.TargetCPU*100, len(usage))
		if math.Abs(ratio-1) > autoscaleTolerance {
			// Scaled by the ready replicas' load, as the HPA does: replicas not ready yet are
			// assumed to take their share once they are.
			raw = int(math.Ceil(float64(len(usage))*ratio - 1e-9))
		}
	}
	clamped := min(max(raw, a.Min), a.Max)
	if clamped != raw {
		why += fmt.Sprintf(", %d clamped to %d", raw, clamped)
	}
	raw = clamped
	hist = append(hist, Rec{At: now, N: raw})
	keep := max(a.Window, a.UpWindow)
	for len(hist) > 0 && now.Sub(hist[0].At) > keep {
		hist = hist[1:]
	}
	up, down := raw, raw
	for _, r := range hist {
		if now.Sub(r.At) <= a.UpWindow {
			up = min(up, r.N)
		}
		if now.Sub(r.At) <= a.Window {
			down = max(down, r.N)
		}
	}
	d := ScaleDecision{N: current, Raw: raw, Reason: why}
	switch {
	case up > current:
		d.N = up
		if up < raw {
			d.Reason += fmt.Sprintf("; up to %d, the lowest in the %s up window", up, a.UpWindow)
		}
	case down < current:
		d.N = down
		if down > raw {
			d.Reason += fmt.Sprintf("; down to %d, the highest in the %s window", down, a.Window)
		}
	case raw != current:
		d.Held = true
		d.Reason += fmt.Sprintf("; %d held at %d: the %s window saw %d", raw, current, a.Window, down)
	}
	// A count outside [min, max] (a manual scale) is corrected at once, cooldown or not.
	if d.N != current && current >= a.Min && current <= a.Max && !lastChange.IsZero() && now.Sub(lastChange) < a.Cooldown {
		d.Held = true
		d.Reason += fmt.Sprintf("; %d held at %d: cooldown %s since the last change", d.N, current, a.Cooldown)
		d.N = current
	}
	if d.N != current {
		d.Reason = fmt.Sprintf("%d → %d replicas: %s", current, d.N, d.Reason)
	}
	return d, hist
}

// scaler is one autoscaled service's memory: the last CPU sample of each ready replica, the
// recommendations of the windows, the time of the last change.
type scaler struct {
	samples map[string]cpuSample
	hist    []Rec
	last    time.Time
	next    time.Time
	heldRaw int // the held recommendation last reported, so a hold is one event, not one per tick
}

type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

// autoscale samples every autoscaled service whose interval has come, and applies what
// Recommend decides as a scale (same path as `hull service scale`).
func (s *Supervisor) autoscale() {
	meter, ok := s.cfg.Runtime.(Meter)
	if !ok {
		return
	}
	s.mu.Lock()
	now := s.clk.Now()
	due := map[string][]string{}
	for _, k := range s.keysLocked() {
		svc := s.serviceLocked(k)
		if svc == nil || svc.Autoscale == nil {
			delete(s.scalers, k)
			continue
		}
		sc := s.scalers[k]
		if sc == nil {
			sc = &scaler{samples: map[string]cpuSample{}}
			s.scalers[k] = sc
		}
		if now.Before(sc.next) {
			continue
		}
		sc.next = now.Add(svc.Autoscale.Interval)
		due[k] = nil
		for _, r := range s.replicas {
			if key(r.Project, r.Service) == k && r.ready() {
				due[k] = append(due[k], r.ID)
			}
		}
	}
	s.mu.Unlock()
	if len(due) == 0 {
		return
	}
	cpu := map[string]time.Duration{}
	for _, ids := range due {
		for _, id := range ids {
			if c, err := meter.CPUTime(id); err == nil {
				cpu[id] = c
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, ids := range due {
		svc, sc := s.serviceLocked(k), s.scalers[k]
		if svc == nil || svc.Autoscale == nil || sc == nil {
			continue
		}
		var usage []float64
		samples := map[string]cpuSample{}
		for _, id := range ids {
			c, ok := cpu[id]
			if !ok {
				continue
			}
			if prev, ok := sc.samples[id]; ok && now.After(prev.at) {
				usage = append(usage, float64(c-prev.cpu)/float64(now.Sub(prev.at))/cpuWeight(svc))
			}
			samples[id] = cpuSample{at: now, cpu: c}
		}
		sc.samples = samples
		var d ScaleDecision
		d, sc.hist = Recommend(*svc.Autoscale, now, svc.Replicas, usage, sc.hist, sc.last)
		p, n := splitKey(k)
		switch {
		case d.N != svc.Replicas:
			c := *svc
			c.Replicas = d.N
			if err := s.replaceServiceLocked(k, &c); err != nil {
				s.emit(Event{Type: "error", Project: p, Service: n, Reason: "autoscale: " + err.Error()})
				continue
			}
			sc.last, sc.heldRaw = now, 0
			s.emit(Event{Type: "autoscale", Project: p, Service: n, Reason: d.Reason})
			s.enqueueLocked(k)
			s.notifyLocked()
		case d.Held && d.Raw != sc.heldRaw:
			sc.heldRaw = d.Raw
			s.emit(Event{Type: "autoscale-hold", Project: p, Service: n, Reason: d.Reason})
		case !d.Held:
			sc.heldRaw = 0
		}
	}
}
