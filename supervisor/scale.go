package supervisor

import (
	"fmt"
	"strconv"
	"strings"
)

// Scaling changes a service's desired replica count without a new revision: up, new slots are
// started; down, the highest slots — the newest replicas, since slots are filled from 1 — are
// stopped, each drained first (out of load balancing, drain, stop_signal, grace, SIGKILL).
// The next `hull up` sets the compose file's count again, as in Docker.

// ParseScale reads `web=5`.
func ParseScale(arg string) (service string, n int, err error) {
	name, num, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return "", 0, fmt.Errorf("scale %q: want SERVICE=REPLICAS", arg)
	}
	n, err = strconv.Atoi(num)
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("scale %q: replicas must be a number ≥ 0", arg)
	}
	return name, n, nil
}

// Scale sets service k's desired replicas to n.
func (s *Supervisor) Scale(k string, n int) error {
	if n < 0 {
		return fmt.Errorf("scale %s: %d replicas", k, n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	svc := s.serviceLocked(k)
	if svc == nil {
		return fmt.Errorf("no service %s", k)
	}
	c := *svc
	c.Replicas = n
	if err := s.replaceServiceLocked(k, &c); err != nil {
		return err
	}
	p, name := splitKey(k)
	s.emit(Event{Type: "scale", Project: p, Service: name, Reason: fmt.Sprintf("%d → %d replicas", svc.Replicas, n)})
	s.enqueueLocked(k)
	s.notifyLocked()
	return nil
}

// replaceServiceLocked makes svc the desired state of service k, in a copy of its project (the
// old one may still be read by a worker), stored first.
func (s *Supervisor) replaceServiceLocked(k string, svc *Service) error {
	pn, _ := splitKey(k)
	cur := s.projects[pn]
	if cur == nil {
		return fmt.Errorf("project %s is not up", pn)
	}
	np := *cur
	np.Services = make(map[string]*Service, len(cur.Services))
	for name, x := range cur.Services {
		np.Services[name] = x
	}
	np.Services[svc.Name] = svc
	if err := s.cfg.Store.PutProject(&np); err != nil {
		return fmt.Errorf("store project: %w", err)
	}
	s.projects[pn] = &np
	return nil
}
