package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Config is what the supervisor is built from. Only cmd/hull fills it with real implementations.
type Config struct {
	Runtime  Runtime
	Images   Images
	Balancer Balancer
	Networks Networks
	Store    Store
	Log      *slog.Logger
	BaseSpec func() *specs.Spec // the runtime's default spec, a fresh copy per call
	LogDir   string             // replicas' log files: LogDir/<project>/<service>.<slot>.log
	Clock    Clock              // nil: the real one
	Rand     func() float64     // jitter source in [0,1); nil: math/rand
	Tick     time.Duration      // periodic reconcile of every service; 0: 5 s
	Parallel int                // concurrent starts per service; 0: 4
	Capacity Capacity           // the node's, for admission by reservations; zero: HostCapacity()
	Hosts    Hosts              // service names in each replica's /etc/hosts; nil: none
	Topology *Topology          // the node's CPUs and NUMA nodes, for cpusets; nil: HostTopology()
}

// Supervisor keeps the declared replicas of each service running. Its loop is a work queue of
// service keys ("<project>/<service>"): exits, health changes, timers, API calls and a ticker
// only enqueue a key, and one worker per key observes → diffs → applies, so a service is never
// reconciled twice at once.
type Supervisor struct {
	cfg Config
	log *slog.Logger
	clk Clock
	bus bus

	mu       sync.Mutex
	projects map[string]*Project
	replicas map[string]*Replica
	states   map[string]*ServiceState
	timers   map[string]func() bool
	pending  map[string]bool
	active   map[string]bool
	lastEP   map[string]string
	epLocks  map[string]*sync.Mutex // one per service: balancer updates in the order their sets were computed
	vips     map[string]netip.Addr  // each service's virtual IP, as the balancer gave it
	scalers  map[string]*scaler     // autoscaled services' samples and windows
	retired  map[string]*Service    // services taken down or out of their project: how to stop their replicas
	hostsMu  sync.Mutex             // hosts files are computed and written in order
	changed  chan struct{}          // closed and replaced on every change, for waiters
	wake     chan struct{}

	wg sync.WaitGroup
}

// New builds a supervisor; Run starts it.
func New(cfg Config) *Supervisor {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 5 * time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 4
	}
	if cfg.Capacity == (Capacity{}) {
		cfg.Capacity = HostCapacity()
	}
	if cfg.Topology == nil {
		t, _ := HostTopology() // unreadable: no CPU list, so no cpusets (replicas run anywhere)
		cfg.Topology = &t
	}
	if cfg.Balancer == nil {
		cfg.Balancer = NopBalancer{}
	}
	if cfg.Networks == nil {
		cfg.Networks = NopNetworks{}
	}
	return &Supervisor{
		cfg: cfg, log: cfg.Log, clk: cfg.Clock,
		projects: map[string]*Project{}, replicas: map[string]*Replica{}, states: map[string]*ServiceState{},
		timers: map[string]func() bool{}, pending: map[string]bool{}, active: map[string]bool{}, lastEP: map[string]string{},
		epLocks: map[string]*sync.Mutex{}, vips: map[string]netip.Addr{}, scalers: map[string]*scaler{}, retired: map[string]*Service{},
		changed: make(chan struct{}), wake: make(chan struct{}, 1),
	}
}

func key(project, service string) string { return project + "/" + service }

func splitKey(k string) (project, service string) {
	project, service, _ = strings.Cut(k, "/")
	return
}

// Run adopts what an earlier daemon left, then reconciles until ctx ends. Ending it leaves every
// replica running: a daemon that stops or dies is not a reason for a container to.
func (s *Supervisor) Run(ctx context.Context) error {
	if err := s.adopt(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(s.cfg.Tick)
	defer tick.Stop()
	// Autoscaled services are sampled at their own interval; this only looks whose is due.
	scale := time.NewTicker(autoscaleTick)
	defer scale.Stop()
	defer s.wg.Wait()
	defer s.stopTimers()
	s.enqueueAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			s.enqueueAll()
			s.rotateLogs()
		case <-scale.C:
			s.autoscale()
		case <-s.wake:
			s.dispatch(ctx)
		}
	}
}

// dispatch starts a worker for every pending key that has none.
func (s *Supervisor) dispatch(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.pending {
		if s.active[k] {
			continue // its worker re-runs when done
		}
		delete(s.pending, k)
		s.active[k] = true
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.reconcile(ctx, k)
			s.mu.Lock()
			delete(s.active, k)
			if s.pending[k] {
				s.poke()
			}
			s.mu.Unlock()
		}()
	}
}

func (s *Supervisor) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueueLocked asks for a reconcile of k; s.mu is held.
func (s *Supervisor) enqueueLocked(k string) {
	s.pending[k] = true
	s.poke()
}

func (s *Supervisor) enqueue(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enqueueLocked(k)
}

// enqueueProjectLocked enqueues every service of a project: dependents wait on each other.
func (s *Supervisor) enqueueProjectLocked(project string) {
	for _, k := range s.keysLocked() {
		if p, _ := splitKey(k); p == project {
			s.enqueueLocked(k)
		}
	}
}

func (s *Supervisor) enqueueAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keysLocked() {
		s.enqueueLocked(k)
	}
}

// keysLocked is every service key that is desired, has replicas, or has state.
func (s *Supervisor) keysLocked() []string {
	set := map[string]bool{}
	for _, p := range s.projects {
		for n := range p.Services {
			set[key(p.Name, n)] = true
		}
	}
	for _, r := range s.replicas {
		set[key(r.Project, r.Service)] = true
	}
	for k := range s.states {
		set[k] = true
	}
	return sortedKeys(set)
}

// notifyLocked wakes whoever waits for a change (Down).
func (s *Supervisor) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Supervisor) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = s.clk.Now()
	}
	s.bus.publish(e)
	attrs := []any{"project", e.Project, "service", e.Service}
	if e.Replica != "" {
		attrs = append(attrs, "replica", e.Replica)
	}
	if e.Reason != "" {
		attrs = append(attrs, "reason", e.Reason)
	}
	if e.Exit != nil {
		attrs = append(attrs, "exit", e.Exit.String())
	}
	s.log.Info(e.Type, attrs...)
}

// scheduleWakeLocked arms the service's one timer for its next backoff expiry.
func (s *Supervisor) scheduleWakeLocked(k string, at time.Time) {
	if stop := s.timers[k]; stop != nil {
		stop()
		delete(s.timers, k)
	}
	if at.IsZero() {
		return
	}
	d := at.Sub(s.clk.Now())
	if d < 0 {
		d = 0
	}
	s.timers[k] = s.clk.AfterFunc(d, func() { s.enqueue(k) })
}

func (s *Supervisor) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, stop := range s.timers {
		stop()
		delete(s.timers, k)
	}
}

func (s *Supervisor) stateLocked(k string) *ServiceState {
	st := s.states[k]
	if st == nil {
		st = &ServiceState{Slots: map[int]*Slot{}}
		s.states[k] = st
	}
	return st
}

func (s *Supervisor) serviceLocked(k string) *Service {
	pn, sn := splitKey(k)
	if p := s.projects[pn]; p != nil {
		return p.Services[sn]
	}
	return nil
}

func (s *Supervisor) persistReplicaLocked(r *Replica) {
	if err := s.cfg.Store.PutReplica(r); err != nil {
		s.log.Error("store replica", "id", r.ID, "err", err)
	}
}

func (s *Supervisor) persistStateLocked(k string) {
	if err := s.cfg.Store.PutService(k, s.stateLocked(k)); err != nil {
		s.log.Error("store service", "service", k, "err", err)
	}
}

// Apply makes p the desired state of its project. The caller validated p (Load); nothing
// changes if it is unusable.
func (s *Supervisor) Apply(ctx context.Context, p *Project) error {
	if !validName(p.Name) {
		return fmt.Errorf("project name %q: use letters, digits, '_' and '-'", p.Name)
	}
	if len(p.Services) == 0 {
		return errors.New("project has no services")
	}
	network := false
	for name, svc := range p.Services {
		if svc == nil || svc.Name != name {
			return fmt.Errorf("service %q: malformed", name)
		}
		network = network || svc.Network
		for _, m := range svc.Mounts {
			if m.Type == "volume" {
				if err := os.MkdirAll(m.Source, 0o755); err != nil {
					return fmt.Errorf("volume %s: %w", m.Source, err)
				}
			}
		}
	}
	if network {
		if err := s.cfg.Networks.Ensure(ctx, NetworkName(p.Name)); err != nil {
			return fmt.Errorf("network %s: %w", NetworkName(p.Name), err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.projects[p.Name]; old != nil {
		for n, svc := range old.Services {
			if p.Services[n] == nil {
				s.retired[key(p.Name, n)] = svc
			}
		}
	}
	for n, svc := range p.Services {
		delete(s.retired, key(p.Name, n))
		// An autoscaled service keeps the count the autoscaler chose: `hull up` again is not
		// a reason to drop to deploy.replicas.
		if old := s.serviceLocked(key(p.Name, n)); old != nil && old.Autoscale != nil && svc.Autoscale != nil {
			svc.Replicas = min(max(old.Replicas, svc.Autoscale.Min), svc.Autoscale.Max)
		}
	}
	if err := s.cfg.Store.PutProject(p); err != nil {
		return fmt.Errorf("store project: %w", err)
	}
	s.projects[p.Name] = p
	s.emit(Event{Type: "apply", Project: p.Name, Reason: fmt.Sprintf("%d services", len(p.Services))})
	for n, svc := range p.Services {
		s.recordRevisionLocked(key(p.Name, n), svc, "up", false)
	}
	s.enqueueProjectLocked(p.Name)
	for n := range p.Services {
		s.enqueueLocked(key(p.Name, n))
	}
	s.notifyLocked()
	return nil
}

// Down stops every replica of a project gracefully, removes them, its network, load-balancer
// entries and logs, and returns when nothing is left.
func (s *Supervisor) Down(ctx context.Context, project string) error {
	s.mu.Lock()
	if _, ok := s.projects[project]; !ok && !s.hasReplicasLocked(project) {
		s.mu.Unlock()
		return fmt.Errorf("project %q is not up", project)
	}
	if err := s.cfg.Store.DeleteProject(project); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: %w", err)
	}
	if old := s.projects[project]; old != nil {
		for n, svc := range old.Services {
			s.retired[key(project, n)] = svc
		}
	}
	delete(s.projects, project)
	s.emit(Event{Type: "down", Project: project})
	s.enqueueProjectLocked(project)
	s.mu.Unlock()
	for {
		s.mu.Lock()
		left, ch := s.hasReplicasLocked(project), s.changed
		s.mu.Unlock()
		if !left {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("down %s: %w", project, ctx.Err())
		case <-ch:
		}
	}
	var errs []error
	s.mu.Lock()
	for _, k := range s.keysLocked() {
		if p, _ := splitKey(k); p == project {
			delete(s.states, k)
			delete(s.lastEP, k)
			delete(s.epLocks, k)
			delete(s.vips, k)
			delete(s.retired, k)
			delete(s.scalers, k)
			if stop := s.timers[k]; stop != nil {
				stop()
				delete(s.timers, k)
			}
			if err := s.cfg.Store.DeleteService(k); err != nil {
				errs = append(errs, err)
			}
			if err := s.cfg.Balancer.Remove(ctx, k); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.mu.Unlock()
	if err := s.cfg.Networks.Remove(ctx, NetworkName(project)); err != nil {
		errs = append(errs, err)
	}
	if s.cfg.LogDir != "" {
		if err := os.RemoveAll(filepath.Join(s.cfg.LogDir, project)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Supervisor) hasReplicasLocked(project string) bool {
	for _, r := range s.replicas {
		if r.Project == project {
			return true
		}
	}
	return false
}

// Restart replaces every replica of a service and clears a gave-up state.
func (s *Supervisor) Restart(k string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serviceLocked(k) == nil {
		return fmt.Errorf("no service %s", k)
	}
	st := s.stateLocked(k)
	st.GaveUp = ""
	st.Restarted = s.clk.Now()
	for _, sl := range st.Slots {
		sl.Attempts, sl.Restarts, sl.NextStart, sl.Done = 0, nil, time.Time{}, false
	}
	s.persistStateLocked(k)
	p, n := splitKey(k)
	s.emit(Event{Type: "restart", Project: p, Service: n, Reason: ReasonRestart})
	s.enqueueLocked(k)
	return nil
}

// Resolve finds a service by "service" (unique across projects) or "project/service".
func (s *Supervisor) Resolve(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(name, "/") {
		if s.serviceLocked(name) == nil {
			return "", fmt.Errorf("no service %s", name)
		}
		return name, nil
	}
	var found []string
	for _, p := range s.projects {
		if _, ok := p.Services[name]; ok {
			found = append(found, key(p.Name, name))
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no service %s", name)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("service %s is in several projects: say which (%s)", name, strings.Join(found, ", "))
}
