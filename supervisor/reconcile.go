package supervisor

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"syscall"
	"time"
)

// reconcile is one pass for one service: observe (under the lock), diff (pure), apply.
func (s *Supervisor) reconcile(ctx context.Context, k string) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	v := s.viewLocked(k)
	plan := Diff(v)
	var stops []*Replica
	for _, a := range plan.Actions {
		if a.Kind != ActStop {
			continue
		}
		r := s.replicas[a.Replica]
		r.State, r.StopReason = Stopping, a.Reason
		if a.Reason == ReasonUnhealthy && v.Service != nil {
			s.failLocked(k, v.Service, r, Exit{At: v.Now, Reason: "unhealthy: " + r.Health.Output})
		}
		s.persistReplicaLocked(r)
		stops = append(stops, r)
	}
	stopSvc := v.Service
	if stopSvc == nil {
		stopSvc = s.retired[k] // taken down: its stop_signal and grace still apply
	}
	s.setPendingLocked(k, plan.Pending)
	wake := plan.WakeAt
	if at := s.rolloutProgressLocked(k); !at.IsZero() && (wake.IsZero() || at.Before(wake)) {
		wake = at
	}
	s.scheduleWakeLocked(k, wake)
	s.mu.Unlock()

	if len(stops) > 0 {
		s.syncEndpoints(ctx, k) // out of load balancing before any signal
		for _, r := range stops {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.stop(ctx, stopSvc, r)
			}()
		}
	}
	var starts []int
	for _, a := range plan.Actions {
		switch a.Kind {
		case ActDelete:
			s.remove(ctx, k, a.Replica)
		case ActStart:
			starts = append(starts, a.Slot)
		}
	}
	if len(starts) > 0 {
		sem := make(chan struct{}, s.cfg.Parallel)
		var wg sync.WaitGroup
		for _, slot := range starts {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				s.start(ctx, k, v.Service, slot)
			}()
		}
		wg.Wait()
	}
	s.syncEndpoints(ctx, k)
	if len(plan.Actions) > 0 {
		s.mu.Lock()
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// viewLocked observes one service.
func (s *Supervisor) viewLocked(k string) View {
	v := View{Now: s.clk.Now(), Service: s.serviceLocked(k), DepsReady: true, Free: s.freeLocked()}
	st := s.stateLocked(k)
	v.Slots, v.GaveUp, v.Restarted = map[int]*Slot{}, st.GaveUp, st.Restarted
	if st.Rollout != nil {
		ro := *st.Rollout
		v.Rollout = &ro
	}
	for n, sl := range st.Slots {
		c := *sl
		v.Slots[n] = &c
	}
	for _, r := range s.replicas {
		if key(r.Project, r.Service) == k {
			c := *r
			v.Replicas = append(v.Replicas, &c)
		}
	}
	if v.Service != nil {
		p, _ := splitKey(k)
		v.DepsReady = s.depsReadyLocked(p, v.Service)
	}
	return v
}

// depsReadyLocked: every depends_on service has a replica running (service_started) or a
// healthy one (service_healthy; running is enough for a service without health check).
func (s *Supervisor) depsReadyLocked(project string, svc *Service) bool {
	for dep, cond := range svc.DependsOn {
		ds := s.serviceLocked(key(project, dep))
		ok := false
		for _, r := range s.replicas {
			if r.Project != project || r.Service != dep || r.State != Running {
				continue
			}
			if cond != "service_healthy" || ds == nil || ds.Health == nil || r.Health.Status == HealthHealthy {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// failLocked applies the restart policy to a replica that failed (exited on its own, failed to
// start, or was found unhealthy).
func (s *Supervisor) failLocked(k string, svc *Service, r *Replica, exit Exit) {
	st := s.stateLocked(k)
	sl := st.slot(r.Slot)
	ran := time.Duration(0)
	switch {
	case r.Started.IsZero():
	case svc.Health == nil:
		ran = exit.At.Sub(r.Started)
	case r.Health.Status == HealthHealthy:
		ran = exit.At.Sub(r.Health.Since)
	}
	s.rolloutFailureLocked(k, svc, r, exit)
	next, giveUp := afterExit(*sl, svc.Restart, svc.Backoff, exit, ran, exit.At, s.cfg.Rand())
	*sl = next
	if giveUp != "" && st.GaveUp == "" {
		st.GaveUp = giveUp
		s.emit(Event{Type: "gave-up", Project: r.Project, Service: r.Service, Replica: r.ID, Reason: giveUp})
	}
	s.persistStateLocked(k)
}

// start makes, starts and watches a new replica in slot.
func (s *Supervisor) start(ctx context.Context, k string, svc *Service, slot int) {
	p, _ := splitKey(k)
	s.mu.Lock()
	proj := s.projects[p]
	if proj == nil || proj.Services[svc.Name] != svc {
		s.mu.Unlock() // taken down or changed since the diff: the next pass decides
		s.enqueue(k)
		return
	}
	st := s.stateLocked(k)
	sl := st.slot(slot)
	sl.Gen++
	r := &Replica{Project: p, Service: svc.Name, Slot: slot, Gen: sl.Gen, Revision: svc.Revision(), State: Creating,
		Created: s.clk.Now(), Health: Health{Status: HealthNone}, done: make(chan struct{})}
	r.ID = ReplicaID(p, svc.Name, slot, sl.Gen)
	if svc.Health != nil {
		r.Health = Health{Status: HealthStarting, Since: r.Created}
	}
	if svc.CPUPlacement != "" {
		cpus := PickCPUs(*s.cfg.Topology, svc.CPUPlacement, k, cpuWeight(svc), s.pinnedLocked())
		r.CPUs, r.Mems = FormatCPUList(cpus), memsOf(*s.cfg.Topology, cpus)
	}
	// The record is written before the runtime is asked: a daemon killed in between finds a
	// record, or a container with our annotations, and never loses track of one.
	s.persistStateLocked(k)
	s.replicas[r.ID] = r
	s.persistReplicaLocked(r)
	s.mu.Unlock()

	obs, err := s.create(ctx, proj, svc, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		delete(s.replicas, r.ID)
		_ = s.cfg.Store.DeleteReplica(r.ID)
		exit := Exit{At: s.clk.Now(), Reason: "start failed: " + err.Error()}
		s.emit(Event{Type: "error", Project: p, Service: svc.Name, Replica: r.ID, Reason: exit.Reason})
		s.failLocked(k, svc, r, exit)
		s.enqueueLocked(k)
		return
	}
	r.State, r.Started, r.Pid, r.Address = Running, s.clk.Now(), obs.Pid, obs.Address
	s.persistReplicaLocked(r)
	s.emit(Event{Type: "start", Project: p, Service: svc.Name, Replica: r.ID})
	s.watchLocked(ctx, k, r, svc)
	s.enqueueProjectLocked(p) // dependents may be waiting for this one
}

// create asks the images and the runtime for a running container; on failure it leaves nothing.
func (s *Supervisor) create(ctx context.Context, p *Project, svc *Service, r *Replica) (obs Observed, err error) {
	rootfs, img, err := s.cfg.Images.Prepare(ctx, svc.Image, r.ID)
	if err != nil {
		return obs, fmt.Errorf("image %s: %w", svc.Image, err)
	}
	defer func() {
		if err != nil {
			_ = s.cfg.Runtime.Delete(context.WithoutCancel(ctx), r.ID)
			_ = s.cfg.Images.Release(context.WithoutCancel(ctx), r.ID)
		}
	}()
	spec, err := BuildSpec(s.cfg.BaseSpec(), p, svc, r, rootfs, img)
	if err != nil {
		return obs, err
	}
	log, err := openLog(logPath(s.cfg.LogDir, p.Name, svc.Name, r.Slot))
	if err != nil {
		return obs, err
	}
	obs, err = s.cfg.Runtime.Create(ctx, r.ID, spec, log)
	log.Close() // the container holds its own copy
	if err != nil {
		return obs, fmt.Errorf("create: %w", err)
	}
	if svc.Network {
		// Before its process starts: the names of the project's services are there from the
		// first lookup.
		if err := s.writeHosts(p.Name, r.ID); err != nil {
			return obs, err
		}
	}
	if err := s.cfg.Runtime.Start(ctx, r.ID); err != nil {
		return obs, fmt.Errorf("start: %w", err)
	}
	return obs, nil
}

// watchLocked starts the goroutines that follow a live replica: its exit, and its probe.
func (s *Supervisor) watchLocked(ctx context.Context, k string, r *Replica, svc *Service) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		exit, err := s.cfg.Runtime.Wait(ctx, r.ID, r.Pid)
		if ctx.Err() != nil {
			return // the daemon is stopping; the replica is not
		}
		if err != nil {
			exit = Exit{At: s.clk.Now(), Reason: "exit status unknown: " + err.Error()}
		}
		// Out of load balancing first: from the moment anyone can see the exit (ps, events,
		// the store), no new connection goes to the dead replica.
		s.leave(ctx, k, r)
		s.exited(k, r, exit)
	}()
	if svc != nil && svc.Health != nil && r.State == Running {
		hc := *svc.Health
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.probeLoop(ctx, k, r, hc)
		}()
	}
}

// exited records a replica's end and applies the restart policy unless hull stopped it.
func (s *Supervisor) exited(k string, r *Replica, exit Exit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exitedLocked(k, r, exit)
}

func (s *Supervisor) exitedLocked(k string, r *Replica, exit Exit) {
	if r.State == Exited {
		return
	}
	if exit.At.IsZero() {
		exit.At = s.clk.Now()
	}
	byUs := r.StopReason != ""
	r.State, r.Exit = Exited, &exit
	s.persistReplicaLocked(r)
	reason := ""
	if byUs {
		reason = "stopped: " + r.StopReason
	}
	s.emit(Event{Type: "exit", Project: r.Project, Service: r.Service, Replica: r.ID, Exit: &exit, Reason: reason})
	if svc := s.serviceLocked(k); svc != nil && !byUs {
		s.failLocked(k, svc, r, exit)
	} else {
		st := s.stateLocked(k)
		st.slot(r.Slot).LastExit = &exit
		s.persistStateLocked(k)
	}
	close(r.done)
	s.enqueueProjectLocked(r.Project)
	s.enqueueLocked(k)
}

// stop is graceful: the replica already left load balancing; stop_signal, then SIGKILL when the
// grace period runs out. The exit itself is recorded by the replica's watcher.
func (s *Supervisor) stop(ctx context.Context, svc *Service, r *Replica) {
	sig, grace := syscall.SIGTERM, 10*time.Second
	if svc != nil {
		if x, err := ParseSignal(svc.StopSignal); err == nil {
			sig = x
		}
		grace = svc.StopGrace
	}
	if svc != nil && svc.Drain > 0 && r.StopReason != ReasonUnhealthy {
		// Out of load balancing already (committed); its open connections still reach it.
		drained := make(chan struct{})
		cancel := s.clk.AfterFunc(svc.Drain, func() { close(drained) })
		select {
		case <-r.done:
			cancel()
			return
		case <-ctx.Done():
			cancel()
			return
		case <-drained:
		}
	}
	s.emit(Event{Type: "stop", Project: r.Project, Service: r.Service, Replica: r.ID, Reason: r.StopReason})
	if err := s.cfg.Runtime.Kill(r.ID, sig); err != nil {
		s.log.Debug("stop signal", "replica", r.ID, "err", err)
	}
	expired := make(chan struct{})
	cancel := s.clk.AfterFunc(grace, func() { close(expired) })
	defer cancel()
	select {
	case <-r.done:
		return
	case <-ctx.Done():
		return
	case <-expired:
	}
	s.emit(Event{Type: "kill", Project: r.Project, Service: r.Service, Replica: r.ID, Reason: "stop_grace_period " + grace.String() + " expired"})
	if err := s.cfg.Runtime.Kill(r.ID, syscall.SIGKILL); err != nil {
		s.log.Debug("SIGKILL", "replica", r.ID, "err", err)
	}
}

// remove deletes an exited replica's container, image claim and record.
func (s *Supervisor) remove(ctx context.Context, k, id string) {
	if err := s.cfg.Runtime.Delete(ctx, id); err != nil {
		p, n := splitKey(k)
		s.emit(Event{Type: "error", Project: p, Service: n, Replica: id, Reason: "delete: " + err.Error()})
		return // the next pass tries again
	}
	if err := s.cfg.Images.Release(ctx, id); err != nil {
		s.log.Warn("release image", "replica", id, "err", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.replicas, id)
	if err := s.cfg.Store.DeleteReplica(id); err != nil {
		s.log.Error("store", "err", err)
	}
	s.notifyLocked()
}

// leave takes a replica out of load balancing now, in the caller's goroutine: the balancer
// has committed the change (and forgotten the flows to it) when leave returns.
func (s *Supervisor) leave(ctx context.Context, k string, r *Replica) {
	s.mu.Lock()
	was := r.ready()
	r.leaving = true
	s.mu.Unlock()
	if was {
		s.syncEndpoints(ctx, k)
	}
}

// syncEndpoints gives the balancer the service's ready replicas, when they changed. Calls for
// one service are serialised, and each computes its set inside that order, so the balancer
// never receives an older set after a newer one.
func (s *Supervisor) syncEndpoints(ctx context.Context, k string) {
	s.mu.Lock()
	l := s.epLocks[k]
	if l == nil {
		l = &sync.Mutex{}
		s.epLocks[k] = l
	}
	s.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	svc := s.serviceLocked(k)
	var addrs, draining []netip.Addr
	for _, r := range s.replicas {
		if key(r.Project, r.Service) != k {
			continue
		}
		a, err := netip.ParseAddr(r.Address)
		switch {
		case err != nil:
		case r.ready():
			addrs = append(addrs, a)
		case r.draining():
			draining = append(draining, a)
		}
	}
	sort.Slice(addrs, func(i, j int) bool { return addrs[i].Less(addrs[j]) })
	sort.Slice(draining, func(i, j int) bool { return draining[i].Less(draining[j]) })
	var ports []Port
	if svc != nil {
		ports = svc.Ports
	}
	sig := fmt.Sprint(ports, addrs, draining)
	switch {
	case s.lastEP[k] == sig:
		s.mu.Unlock()
		return
	case svc == nil && len(addrs)+len(draining) == 0:
		// Removed from its project, replicas gone: its ports and virtual IP go too.
		if s.lastEP[k] == "" {
			s.mu.Unlock()
			return
		}
		delete(s.lastEP, k)
		delete(s.vips, k)
		s.mu.Unlock()
		if err := s.cfg.Balancer.Remove(ctx, k); err != nil {
			p, n := splitKey(k)
			s.emit(Event{Type: "error", Project: p, Service: n, Reason: "load balancer: " + err.Error()})
		}
		s.refreshHosts(k)
		return
	case (svc == nil || !svc.Network) && s.lastEP[k] == "":
		s.mu.Unlock() // not on a network: no balancing, no name
		return
	}
	s.lastEP[k] = sig
	s.mu.Unlock()
	vip, err := s.cfg.Balancer.SetEndpoints(ctx, k, ports, addrs, draining)
	if err != nil {
		p, n := splitKey(k)
		s.emit(Event{Type: "error", Project: p, Service: n, Reason: "load balancer: " + err.Error()})
		s.mu.Lock()
		delete(s.lastEP, k) // retry on the next pass
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	changed := s.vips[k] != vip
	s.vips[k] = vip
	s.mu.Unlock()
	if changed {
		s.refreshHosts(k) // a new name: every replica of the project learns it
	}
}
