package supervisor

import (
	"fmt"
	"strings"
	"time"
)

// ReplicaState is the supervisor's view of one container of a service.
//
//	creating ──▶ running ──▶ stopping ──▶ exited ──▶ (deleted)
//	    │           └───────────────────────▲
//	    └─ (failed start: deleted at once)
type ReplicaState string

const (
	Creating ReplicaState = "creating" // store says so before the runtime is asked: a crash here is recoverable
	Running  ReplicaState = "running"
	Stopping ReplicaState = "stopping" // out of load balancing, stop signal sent, grace running
	Exited   ReplicaState = "exited"   // its init is gone; the container is deleted next
)

// Replica is one container of a service, as the store keeps it.
type Replica struct {
	ID         string       `json:"id"`
	Project    string       `json:"project"`
	Service    string       `json:"service"`
	Slot       int          `json:"slot"` // 1..replicas: "web-2" is slot 2 whatever its generation
	Gen        int          `json:"gen"`  // bumps with each replacement in the slot, so ids never repeat
	Revision   string       `json:"revision"`
	State      ReplicaState `json:"state"`
	Pid        int          `json:"pid,omitempty"`
	Address    string       `json:"address,omitempty"`
	CPUs       string       `json:"cpus,omitempty"` // its cpuset (x-hull placement), in the kernel's list format
	Mems       string       `json:"mems,omitempty"` // its NUMA nodes, when the node has several
	Created    time.Time    `json:"created"`
	Started    time.Time    `json:"started,omitzero"`
	Health     Health       `json:"health"`
	StopReason string       `json:"stopReason,omitempty"` // set when hull stops it: no restart policy applies
	Exit       *Exit        `json:"exit,omitempty"`
	Adopted    bool         `json:"adopted,omitempty"` // made by an earlier daemon: its exit status is unknowable

	done    chan struct{} // closed when its exit is recorded
	leaving bool          // out of load balancing already: its exit or failure is being recorded
}

// Name is how people call a replica: web-2.
func (r *Replica) Name() string { return fmt.Sprintf("%s-%d", r.Service, r.Slot) }

// ready says whether the replica should receive traffic.
func (r *Replica) ready() bool {
	return r.State == Running && !r.leaving && (r.Health.Status == HealthNone || r.Health.Status == HealthHealthy)
}

// draining says whether the replica is being stopped by hull for a reason that leaves its open
// connections alone: they may finish (a sick or dead replica's are cut at once).
func (r *Replica) draining() bool {
	return r.State == Stopping && !r.leaving && r.StopReason != ReasonUnhealthy
}

// Exit is how a replica's process ended.
type Exit struct {
	At          time.Time `json:"at"`
	Known       bool      `json:"known"` // false: it ended while no daemon was its parent
	Code        int       `json:"code,omitempty"`
	Signal      string    `json:"signal,omitempty"`
	OOMKilled   bool      `json:"oomKilled,omitempty"`
	PeakMemory  uint64    `json:"peakMemory,omitempty"`
	MemoryLimit uint64    `json:"memoryLimit,omitempty"`
	Reason      string    `json:"reason,omitempty"` // for exits hull made up: failed start, vanished, unhealthy
}

// Failed is what on-failure restarts on: a non-zero code, a signal, an OOM kill, or not knowing.
func (e Exit) Failed() bool { return !e.Known || e.Code != 0 || e.Signal != "" || e.OOMKilled }

func (e Exit) String() string {
	var parts []string
	switch {
	case e.OOMKilled:
		s := "OOM-killed"
		if e.MemoryLimit > 0 {
			s += fmt.Sprintf(" (peak %s of %s limit)", mib(e.PeakMemory), mib(e.MemoryLimit))
		}
		parts = append(parts, s)
	case e.Signal != "":
		parts = append(parts, "killed by "+e.Signal)
	case e.Known:
		parts = append(parts, fmt.Sprintf("exit code %d", e.Code))
	case e.Reason == "":
		parts = append(parts, "exit status unknown")
	}
	if e.Reason != "" {
		parts = append(parts, e.Reason)
	}
	return strings.Join(parts, ": ")
}

func mib(b uint64) string { return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20)) }

// Slot is the restart bookkeeping of one replica position, which outlives its containers.
type Slot struct {
	Gen       int         `json:"gen"`                // last generation used
	Attempts  int         `json:"attempts"`           // restarts since the last reset
	Restarts  []time.Time `json:"restarts,omitempty"` // when, for max_attempts within window
	NextStart time.Time   `json:"nextStart,omitzero"` // backoff: not before
	Done      bool        `json:"done,omitempty"`     // the restart policy says: leave it ended
	LastExit  *Exit       `json:"lastExit,omitempty"` // kept for ps after the container is gone
}

// ServiceState is what the supervisor keeps per service besides its replicas.
type ServiceState struct {
	Slots     map[int]*Slot    `json:"slots"`
	GaveUp    string           `json:"gaveUp,omitempty"`   // why no more restarts happen until `service restart`
	Restarted time.Time        `json:"restarted,omitzero"` // the last `service restart`
	Rollout   *Rollout         `json:"rollout,omitempty"`  // the last (or current) update
	History   []RevisionRecord `json:"history,omitempty"`  // oldest first, HistoryLimit at most
	Pending   map[int]string   `json:"-"`                  // slots placement keeps empty, and why
}

func (st *ServiceState) slot(n int) *Slot {
	if st.Slots == nil {
		st.Slots = map[int]*Slot{}
	}
	sl := st.Slots[n]
	if sl == nil {
		sl = &Slot{}
		st.Slots[n] = sl
	}
	return sl
}

// afterExit applies the restart policy to a replica that ended without hull asking (or that
// hull replaced for failing its health check). ranFor is how long it had been running healthy:
// past the backoff's ResetAfter the attempts start over. r is a uniform [0,1) number for jitter.
// It returns the slot's next state, and a reason when the service should give up.
func afterExit(sl Slot, pol RestartPolicy, b Backoff, exit Exit, ranFor time.Duration, now time.Time, r float64) (Slot, string) {
	sl.LastExit = &exit
	if b.ResetAfter > 0 && ranFor >= b.ResetAfter {
		sl.Attempts, sl.Restarts = 0, nil
	}
	restart := false
	switch pol.Mode {
	case RestartAlways, RestartUnlessStopped:
		restart = true
	case RestartOnFailure:
		restart = exit.Failed()
	}
	if !restart {
		sl.Done = true
		return sl, ""
	}
	sl.Attempts++
	kept := sl.Restarts[:0:0]
	for _, t := range sl.Restarts {
		if pol.Window <= 0 || now.Sub(t) < pol.Window {
			kept = append(kept, t)
		}
	}
	sl.Restarts = append(kept, now)
	if pol.MaxAttempts > 0 && len(sl.Restarts) > pol.MaxAttempts {
		within := ""
		if pol.Window > 0 {
			within = " within " + pol.Window.String()
		}
		sl.NextStart = time.Time{}
		return sl, fmt.Sprintf("gave up after %d restarts%s; last: %s", pol.MaxAttempts, within, exit)
	}
	sl.NextStart = now.Add(b.Delay(sl.Attempts, r))
	return sl, ""
}
