package supervisor

import (
	"fmt"
	"time"
)

// A rolling update replaces a service's replicas of an older revision slot by slot, as
// deploy.update_config says (Docker Swarm's words, hull's defaults):
//
//	parallelism        slots being replaced at once (0: all); default 1
//	delay              after a new replica became ready, before the next slot; default 0
//	order              start-first: the new replica starts beside the old one, which leaves
//	                   traffic (and is drained) only once the new one is ready — hull's default
//	                   for services with published ports; stop-first otherwise
//	monitor            a new replica that fails this long after it became ready still counts
//	                   as a failure of the update; default 5s
//	failure_action     rollback (hull's default), pause or continue, once more than
//	max_failure_ratio  of the service's replicas failed (default 0: the first failure)
//
// The plan of which slot to touch is part of the pure Diff (diff.go); the counting of failures
// and the decision to roll back or pause are here and in failLocked, under the lock.

// Rollout states.
const (
	RolloutUpdating    = "updating"
	RolloutPaused      = "paused"
	RolloutCompleted   = "completed"
	RolloutRollingBack = "rolling back"
	RolloutRolledBack  = "rolled back"
)

// Rollout is the update of a service to a revision, kept with the service's state.
type Rollout struct {
	Revision string    `json:"revision"` // the target
	From     string    `json:"from"`     // the revision it replaces
	State    string    `json:"state"`
	Rollback bool      `json:"rollback,omitempty"` // a rollback: rollback_config applies
	Started  time.Time `json:"started"`
	Failed   int       `json:"failed,omitempty"` // new replicas that failed (monitor included)
	Reason   string    `json:"reason,omitempty"` // why it paused or rolled back
}

// Active says whether the rollout still steers the diff.
func (r *Rollout) Active() bool {
	return r != nil && (r.State == RolloutUpdating || r.State == RolloutRollingBack || r.State == RolloutPaused)
}

// RevisionRecord is one entry of a service's history (`hull service history`).
type RevisionRecord struct {
	Revision string    `json:"revision"`
	At       time.Time `json:"at"`
	Cause    string    `json:"cause"` // up, rollback, automatic rollback
	Spec     *Service  `json:"spec"`
}

// HistoryLimit is how many revisions a service keeps.
const HistoryLimit = 10

// Update config defaults.
const (
	OrderStartFirst = "start-first"
	OrderStopFirst  = "stop-first"
	DefaultMonitor  = 5 * time.Second
)

// updateConfig is the service's update_config (rollback_config for a rollback) with hull's
// defaults filled in.
func (s *Service) updateConfig(rollback bool) UpdateConfig {
	var c UpdateConfig
	src := s.Update
	if rollback && s.Rollback != nil {
		src = s.Rollback
	}
	if src != nil {
		c = *src
	} else {
		c.Parallelism = 1
	}
	if c.Order == "" {
		c.Order = OrderStopFirst
		if len(s.Ports) > 0 {
			c.Order = OrderStartFirst
		}
	}
	if c.FailureAction == "" {
		c.FailureAction = "rollback"
	}
	if c.Monitor == 0 {
		c.Monitor = DefaultMonitor
	}
	return c
}

// readySince is when a replica became ready (zero: it is not).
func (r *Replica) readySince() time.Time {
	switch {
	case !r.ready():
		return time.Time{}
	case r.Health.Status == HealthHealthy:
		return r.Health.Since
	}
	return r.Started
}

// pushHistory appends a revision to a service's history, keeping the last HistoryLimit.
func (st *ServiceState) pushHistory(svc *Service, at time.Time, cause string) {
	rev := svc.Revision()
	if n := len(st.History); n > 0 && st.History[n-1].Revision == rev {
		return
	}
	c := *svc
	st.History = append(st.History, RevisionRecord{Revision: rev, At: at, Cause: cause, Spec: &c})
	if len(st.History) > HistoryLimit {
		st.History = append([]RevisionRecord(nil), st.History[len(st.History)-HistoryLimit:]...)
	}
}

// previous finds the newest revision in the history that is not rev.
func (st *ServiceState) previous(rev string) (*RevisionRecord, error) {
	for i := len(st.History) - 1; i >= 0; i-- {
		if st.History[i].Revision != rev {
			return &st.History[i], nil
		}
	}
	return nil, fmt.Errorf("no earlier revision to roll back to")
}

// recordRevisionLocked notes, at apply, that service k is now desired as svc: a new revision
// goes into the history and, when replicas of another revision run, starts a rollout.
func (s *Supervisor) recordRevisionLocked(k string, svc *Service, cause string, rollback bool) {
	st := s.stateLocked(k)
	rev := svc.Revision()
	from := ""
	if n := len(st.History); n > 0 {
		from = st.History[n-1].Revision
	}
	st.pushHistory(svc, s.clk.Now(), cause)
	if from == "" || from == rev || st.Rollout != nil && st.Rollout.Revision == rev && st.Rollout.Active() {
		s.persistStateLocked(k)
		return
	}
	state := RolloutUpdating
	if rollback {
		state = RolloutRollingBack
	}
	st.Rollout = &Rollout{Revision: rev, From: from, State: state, Rollback: rollback, Started: s.clk.Now()}
	s.persistStateLocked(k)
	p, n := splitKey(k)
	s.emit(Event{Type: "update", Project: p, Service: n, Reason: fmt.Sprintf("%s: revision %s → %s", state, from, rev)})
}

// rolloutFailureLocked counts a failed replica of the revision being rolled out, and acts when
// too many failed: pause, roll back, or carry on.
func (s *Supervisor) rolloutFailureLocked(k string, svc *Service, r *Replica, exit Exit) {
	st := s.stateLocked(k)
	ro := st.Rollout
	if !ro.Active() || r.Revision != ro.Revision {
		return
	}
	cfg := svc.updateConfig(ro.Rollback)
	if since := r.readySince(); !since.IsZero() && exit.At.Sub(since) >= cfg.Monitor {
		return // it served past the monitor period: an ordinary failure, not the update's
	}
	ro.Failed++
	desired := max(svc.Replicas, 1)
	if float64(ro.Failed)/float64(desired) <= cfg.MaxFailureRatio || ro.State == RolloutPaused {
		return
	}
	reason := fmt.Sprintf("%d of %d new replicas failed (max_failure_ratio %g); last: %s", ro.Failed, desired, cfg.MaxFailureRatio, exit)
	p, n := splitKey(k)
	switch {
	case cfg.FailureAction == "continue":
	case cfg.FailureAction == "pause" || ro.Rollback:
		ro.State, ro.Reason = RolloutPaused, reason
		s.emit(Event{Type: "update-paused", Project: p, Service: n, Reason: reason})
	default:
		ro.Reason = reason
		s.emit(Event{Type: "rollback", Project: p, Service: n, Reason: "automatic: " + reason})
		if err := s.rollbackLocked(k, "automatic rollback"); err != nil {
			ro.State, ro.Reason = RolloutPaused, reason+"; rollback: "+err.Error()
		}
	}
	s.persistStateLocked(k)
}

// rollbackLocked makes the previous revision of service k desired again (keeping its current
// replica count) and rolls it out with rollback_config.
func (s *Supervisor) rollbackLocked(k, cause string) error {
	svc := s.serviceLocked(k)
	if svc == nil {
		return fmt.Errorf("no service %s", k)
	}
	st := s.stateLocked(k)
	prev, err := st.previous(svc.Revision())
	if err != nil {
		return err
	}
	spec := *prev.Spec
	spec.Replicas = svc.Replicas
	if err := s.replaceServiceLocked(k, &spec); err != nil {
		return err
	}
	if st.Rollout != nil && st.Rollout.Active() {
		st.Rollout.State = RolloutRolledBack
	}
	s.recordRevisionLocked(k, &spec, cause, true)
	s.enqueueLocked(k)
	s.notifyLocked()
	return nil
}

// Rollback is `hull service rollback`: back to the revision before the current one.
func (s *Supervisor) Rollback(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, n := splitKey(k)
	if err := s.rollbackLocked(k, "rollback"); err != nil {
		return fmt.Errorf("rollback %s: %w", k, err)
	}
	s.emit(Event{Type: "rollback", Project: p, Service: n, Reason: "requested"})
	return nil
}

// History is `hull service history`: the service's revisions, oldest first.
func (s *Supervisor) History(k string) ([]RevisionRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serviceLocked(k) == nil {
		return nil, fmt.Errorf("no service %s", k)
	}
	return append([]RevisionRecord(nil), s.stateLocked(k).History...), nil
}

// rolloutProgressLocked ends a rollout whose every desired slot runs a ready replica of its
// revision, none of another remains, and the last became ready a monitor period ago; else it
// says when to look again.
func (s *Supervisor) rolloutProgressLocked(k string) time.Time {
	st := s.stateLocked(k)
	ro, svc := st.Rollout, s.serviceLocked(k)
	if !ro.Active() || ro.State == RolloutPaused || svc == nil || svc.Revision() != ro.Revision {
		return time.Time{}
	}
	cfg := svc.updateConfig(ro.Rollback)
	ready := map[int]bool{}
	var last time.Time
	for _, r := range s.replicas {
		if key(r.Project, r.Service) != k {
			continue
		}
		if r.Revision != ro.Revision && r.State != Exited {
			return time.Time{} // an old one still runs or stops
		}
		if t := r.readySince(); !t.IsZero() && r.Slot <= svc.Replicas {
			ready[r.Slot] = true
			if t.After(last) {
				last = t
			}
		}
	}
	if len(ready) < svc.Replicas {
		return time.Time{}
	}
	if done := last.Add(cfg.Monitor); s.clk.Now().Before(done) {
		return done
	}
	if ro.State == RolloutRollingBack {
		ro.State = RolloutRolledBack
	} else {
		ro.State = RolloutCompleted
	}
	s.persistStateLocked(k)
	p, n := splitKey(k)
	s.emit(Event{Type: "update", Project: p, Service: n, Reason: fmt.Sprintf("%s: revision %s", ro.State, ro.Revision)})
	return time.Time{}
}
