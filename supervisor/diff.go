package supervisor

import (
	"sort"
	"time"
)

// View is everything the diff needs about one service, observed at Now.
type View struct {
	Now       time.Time
	Service   *Service // nil: no longer desired (removed, or the project is down)
	Replicas  []*Replica
	Slots     map[int]*Slot
	GaveUp    string
	DepsReady bool      // depends_on conditions hold
	Restarted time.Time // `service restart`: replicas created before it are replaced
	Rollout   *Rollout  // the service's update, if any
	Free      Capacity  // the node's capacity minus every live replica's reservation
}

// ActionKind is what the supervisor does to converge a service.
type ActionKind string

const (
	ActStart  ActionKind = "start"  // a new replica in Slot
	ActStop   ActionKind = "stop"   // out of load balancing, stop_signal, SIGKILL after the grace
	ActDelete ActionKind = "delete" // remove an exited replica's container
)

// Action is one step of a Plan.
type Action struct {
	Kind    ActionKind
	Slot    int
	Replica string // stop, delete
	Reason  string // stop: why (recorded on the replica; "unhealthy" counts as a failure)
}

// Stop reasons.
const (
	ReasonRemoved   = "removed"
	ReasonScaled    = "scaled down"
	ReasonChanged   = "configuration changed"
	ReasonUnhealthy = "unhealthy"
	ReasonDuplicate = "duplicate"
	ReasonRestart   = "restart requested"
)

// Plan is the diff's answer: actions now, and when to look again (zero: no timer needed);
// Pending says why slots that need a replica get none (placement).
type Plan struct {
	Actions []Action
	WakeAt  time.Time
	Pending map[int]string
}

// Diff compares the desired service with what runs and says what to do. It is pure: no clock,
// no runtime, no randomness, so every rule below is a table test.
//
//   - exited replicas are deleted;
//   - live replicas beyond the desired count, unhealthy, or older than a `service restart` are
//     stopped; when two live replicas of one revision claim a slot (a crash during a
//     replacement), the better one stays;
//   - replicas of an older revision are rolled (rollout.go): a slot whose new replica is ready
//     stops its old one; other slots are started (start-first) or stopped (stop-first) while
//     fewer than parallelism slots are under way, the delay since the last new replica became
//     ready has passed and the rollout is not paused;
//   - every empty slot gets a new replica, unless the service gave up, the slot's policy is done,
//     a dependency is not ready, or its backoff has not expired (then WakeAt says when);
//   - a slot whose replica is being stopped in this plan is refilled on the next pass, after the
//     stop was recorded (an unhealthy replica's replacement waits for its backoff).
func Diff(v View) Plan {
	var p Plan
	desired, rev := 0, ""
	if v.Service != nil {
		desired, rev = v.Service.Replicas, v.Service.Revision()
	}
	live := map[int][]*Replica{} // of the desired revision
	old := map[int][]*Replica{}  // of an older one, kept until the rollout replaces them
	stopping := map[int]bool{}
	underway := map[int]bool{} // slots a rollout is replacing right now
	for _, r := range sortedReplicas(v.Replicas) {
		switch r.State {
		case Exited:
			p.Actions = append(p.Actions, Action{Kind: ActDelete, Slot: r.Slot, Replica: r.ID})
			continue
		case Stopping:
			if r.StopReason == ReasonChanged {
				underway[r.Slot] = true
			}
			continue
		}
		reason := ""
		switch {
		case v.Service == nil:
			reason = ReasonRemoved
		case r.Slot > desired:
			reason = ReasonScaled
		case r.Health.Status == HealthUnhealthy:
			reason = ReasonUnhealthy
		case r.Created.Before(v.Restarted):
			reason = ReasonRestart
		}
		if reason != "" {
			p.Actions = append(p.Actions, Action{Kind: ActStop, Slot: r.Slot, Replica: r.ID, Reason: reason})
			stopping[r.Slot] = true
			continue
		}
		if r.Revision != rev {
			old[r.Slot] = append(old[r.Slot], r)
			continue
		}
		live[r.Slot] = append(live[r.Slot], r)
	}
	for _, set := range []map[int][]*Replica{live, old} {
		for slot, rs := range set {
			if len(rs) < 2 {
				continue
			}
			sort.SliceStable(rs, func(i, j int) bool { return better(rs[i], rs[j]) })
			for _, r := range rs[1:] {
				p.Actions = append(p.Actions, Action{Kind: ActStop, Slot: slot, Replica: r.ID, Reason: ReasonDuplicate})
			}
			set[slot] = rs[:1]
		}
	}
	if v.Service == nil || v.GaveUp != "" || !v.DepsReady {
		sortActions(p.Actions)
		return p
	}
	p.roll(v, live, old, stopping, underway)
	for slot := 1; slot <= desired; slot++ {
		if len(live[slot]) > 0 || len(old[slot]) > 0 || stopping[slot] || underway[slot] {
			continue
		}
		if !p.startable(v, slot) {
			continue
		}
		p.Actions = append(p.Actions, Action{Kind: ActStart, Slot: slot})
	}
	p.place(v)
	sortActions(p.Actions)
	return p
}

// place admits the plan's starts in slot order while they fit the node (placement.go); the
// others are dropped and their slots reported pending.
func (p *Plan) place(v View) {
	free, live := v.Free, 0
	for _, r := range v.Replicas {
		if r.State != Exited {
			live++
		}
	}
	kept := p.Actions[:0]
	for _, a := range p.Actions {
		if a.Kind == ActStart {
			if why := admit(v.Service, free, live); why != "" {
				if p.Pending == nil {
					p.Pending = map[int]string{}
				}
				p.Pending[a.Slot] = why
				continue
			}
			free.CPUs -= v.Service.Resources.ReserveCPUs
			free.Memory -= v.Service.Resources.ReserveMemory
			live++
		}
		kept = append(kept, a)
	}
	p.Actions = kept
}

// startable says whether slot may get a new replica now, moving WakeAt to its backoff if not.
func (p *Plan) startable(v View, slot int) bool {
	sl := v.Slots[slot]
	if sl != nil && sl.Done {
		return false
	}
	if sl != nil && v.Now.Before(sl.NextStart) {
		p.wake(sl.NextStart)
		return false
	}
	return true
}

func (p *Plan) wake(at time.Time) {
	if p.WakeAt.IsZero() || at.Before(p.WakeAt) {
		p.WakeAt = at
	}
}

// roll plans the rolling update: the slots whose replica is of an older revision.
func (p *Plan) roll(v View, live, old map[int][]*Replica, stopping, underway map[int]bool) {
	rollback := v.Rollout != nil && v.Rollout.Rollback
	cfg := v.Service.updateConfig(rollback)
	var lastReady time.Time
	for _, rs := range live {
		if t := rs[0].readySince(); t.After(lastReady) {
			lastReady = t
		}
	}
	var waiting []int
	for slot := 1; slot <= v.Service.Replicas; slot++ {
		if len(old[slot]) == 0 {
			continue
		}
		switch {
		case len(live[slot]) > 0 && live[slot][0].ready():
			// Its replacement is ready: the old replica leaves traffic (drained) and stops.
			p.Actions = append(p.Actions, Action{Kind: ActStop, Slot: slot, Replica: old[slot][0].ID, Reason: ReasonChanged})
		case len(live[slot]) > 0 || stopping[slot]:
			underway[slot] = true // the new one is starting: the old one serves meanwhile
		default:
			waiting = append(waiting, slot)
		}
	}
	if len(waiting) == 0 || v.Rollout != nil && v.Rollout.State == RolloutPaused {
		return
	}
	free := len(waiting)
	if cfg.Parallelism > 0 {
		free = cfg.Parallelism - len(underway)
	}
	if cfg.Delay > 0 && !lastReady.IsZero() && v.Now.Before(lastReady.Add(cfg.Delay)) {
		p.wake(lastReady.Add(cfg.Delay))
		return
	}
	for _, slot := range waiting {
		if free <= 0 {
			return
		}
		if !p.startable(v, slot) {
			continue
		}
		free--
		underway[slot] = true
		if cfg.Order == OrderStartFirst {
			p.Actions = append(p.Actions, Action{Kind: ActStart, Slot: slot})
		} else {
			p.Actions = append(p.Actions, Action{Kind: ActStop, Slot: slot, Replica: old[slot][0].ID, Reason: ReasonChanged})
		}
	}
}

// better ranks two replicas of one slot: running before creating, healthy first, then newest.
func better(a, b *Replica) bool {
	rank := func(r *Replica) int {
		switch {
		case r.State == Running && r.Health.Status == HealthHealthy:
			return 3
		case r.State == Running && r.Health.Status != HealthUnhealthy:
			return 2
		case r.State == Running:
			return 1
		}
		return 0
	}
	if rank(a) != rank(b) {
		return rank(a) > rank(b)
	}
	return a.Gen > b.Gen
}

func sortedReplicas(rs []*Replica) []*Replica {
	out := append([]*Replica(nil), rs...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Slot != out[j].Slot {
			return out[i].Slot < out[j].Slot
		}
		return out[i].Gen < out[j].Gen
	})
	return out
}

// sortActions orders a plan: deletes, stops, then starts, each by slot, so tests compare plans
// exactly and stops leave load balancing before anything new joins.
func sortActions(as []Action) {
	order := map[ActionKind]int{ActDelete: 0, ActStop: 1, ActStart: 2}
	sort.SliceStable(as, func(i, j int) bool {
		if order[as[i].Kind] != order[as[j].Kind] {
			return order[as[i].Kind] < order[as[j].Kind]
		}
		if as[i].Slot != as[j].Slot {
			return as[i].Slot < as[j].Slot
		}
		return as[i].Replica < as[j].Replica
	})
}
