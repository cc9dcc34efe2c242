package supervisor

import (
	"context"
	"fmt"
	"strconv"
)

// adopt rebuilds the supervisor's picture after a (re)start, from the store and from the
// runtime, which is the truth about what exists:
//
//   - a running container with our annotations is adopted as it is: no duplicate is started, and
//     its record is rebuilt from the annotations if the store lost it;
//   - a created-but-never-started one (the daemon died mid-create) is deleted;
//   - a stopped one ended while no daemon watched: its exit status is unknowable (it was not our
//     child), which is recorded, and the restart policy acts on it;
//   - a record without a container vanished: the same;
//   - a container of a project no longer desired is stopped by the first reconcile.
func (s *Supervisor) adopt(ctx context.Context) error {
	st := s.cfg.Store
	projects, err := st.Projects()
	if err != nil {
		return err
	}
	replicas, err := st.Replicas()
	if err != nil {
		return err
	}
	states, err := st.Services()
	if err != nil {
		return err
	}
	observed, err := s.cfg.Runtime.List(ctx)
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range projects {
		s.projects[p.Name] = p
	}
	for k, v := range states {
		s.states[k] = v
	}
	for _, r := range replicas {
		r.done = make(chan struct{})
		s.replicas[r.ID] = r
	}
	seen := map[string]bool{}
	for _, o := range observed {
		if o.Annotations[AnnProject] == "" {
			continue
		}
		seen[o.ID] = true
		r := s.replicas[o.ID]
		if r == nil {
			if r = fromAnnotations(o); r == nil {
				continue
			}
			r.Created = s.clk.Now()
			s.replicas[r.ID] = r
		}
		k := key(r.Project, r.Service)
		if sl := s.stateLocked(k).slot(r.Slot); sl.Gen < r.Gen {
			sl.Gen = r.Gen
			s.persistStateLocked(k)
		}
		svc := s.serviceLocked(k)
		switch o.Status {
		case "created", "creating":
			// Never ran: the daemon died between create and start. Remove it quietly.
			_ = s.cfg.Runtime.Delete(ctx, r.ID)
			_ = s.cfg.Images.Release(ctx, r.ID)
			delete(s.replicas, r.ID)
			_ = st.DeleteReplica(r.ID)
			continue
		case "running", "paused":
			if r.State == Creating || r.State == "" {
				r.State = Running
			}
			if r.Started.IsZero() {
				r.Started = s.clk.Now()
			}
			r.Pid, r.Address, r.Adopted = o.Pid, o.Address, true
			if r.Health.Status == "" {
				r.Health.Status = HealthNone
			}
			if svc != nil && svc.Health != nil && r.Health.Status == HealthNone {
				r.Health = Health{Status: HealthStarting, Since: s.clk.Now()}
			}
			s.emit(Event{Type: "adopt", Project: r.Project, Service: r.Service, Replica: r.ID, Reason: "running, pid " + strconv.Itoa(r.Pid)})
		default:
			// Stopped while nobody watched: Wait reports at once (status unknown, or OOM from the cgroup).
			if r.State != Stopping && r.State != Exited {
				r.State = Running
			}
			r.Pid, r.Adopted = 0, true
		}
		s.persistReplicaLocked(r)
		if r.State == Exited {
			continue // the first reconcile deletes it
		}
		s.watchLocked(ctx, k, r, svc)
		if r.State == Stopping {
			// A stop that the dead daemon began: finish it.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.stop(ctx, svc, r)
			}()
		}
	}
	for id, r := range s.replicas {
		if seen[id] || r.State == Exited {
			continue
		}
		k := key(r.Project, r.Service)
		exit := Exit{At: s.clk.Now(), Reason: "exit status unknown: the container vanished while the supervisor was down"}
		if r.State == Creating {
			// The daemon died during create: the runtime may hold a half-made container it
			// cannot list (no state file yet), and the image an overlay. Remove both.
			_ = s.cfg.Runtime.Delete(ctx, id)
			_ = s.cfg.Images.Release(ctx, id)
			delete(s.replicas, id)
			_ = st.DeleteReplica(id)
			continue
		}
		s.exitedLocked(k, r, exit)
	}
	return nil
}

// fromAnnotations rebuilds a replica's record from its container alone.
func fromAnnotations(o Observed) *Replica {
	a := o.Annotations
	slot, err1 := strconv.Atoi(a[AnnSlot])
	gen, err2 := strconv.Atoi(a[AnnGen])
	if err1 != nil || err2 != nil || a[AnnService] == "" {
		return nil
	}
	return &Replica{ID: o.ID, Project: a[AnnProject], Service: a[AnnService], Slot: slot, Gen: gen,
		Revision: a[AnnRevision], CPUs: a[AnnCPUs], State: Running, Health: Health{Status: HealthNone}, done: make(chan struct{})}
}
