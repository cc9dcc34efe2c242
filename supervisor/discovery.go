package supervisor

import (
	"fmt"
	"sort"
)

// Service discovery is a hosts file: each replica on its project's network finds, in its
// /etc/hosts, every service of the project by name ("web", and "web.<project>") at the
// service's virtual IP, which the balancer spreads over the ready replicas by the same rules
// as a published port (package netns: a VIP → numgen → DNAT chain). hull rewrites the file of
// every replica of the project when a service gets its VIP, so names of services created
// later resolve too. It is the cheapest honest choice: no server in the data path, nothing
// for a resolver to cache wrongly (the address of a name never changes while the service
// exists); what it cannot do is answer for names of other projects, or SRV records.

// hostsLinesLocked lists the project's service names.
func (s *Supervisor) hostsLinesLocked(project string) []string {
	var lines []string
	for k, vip := range s.vips {
		p, n := splitKey(k)
		if p == project && vip.IsValid() {
			lines = append(lines, fmt.Sprintf("%v\t%s %s.%s", vip, n, n, p))
		}
	}
	sort.Strings(lines)
	return lines
}

// writeHosts writes the project's names into one replica's hosts file.
func (s *Supervisor) writeHosts(project, id string) error {
	if s.cfg.Hosts == nil {
		return nil
	}
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	s.mu.Lock()
	lines := s.hostsLinesLocked(project)
	s.mu.Unlock()
	if err := s.cfg.Hosts.SetHosts(id, lines); err != nil {
		return fmt.Errorf("service names: %w", err)
	}
	return nil
}

// refreshHosts rewrites the hosts file of every live replica of k's project.
func (s *Supervisor) refreshHosts(k string) {
	if s.cfg.Hosts == nil {
		return
	}
	project, _ := splitKey(k)
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	s.mu.Lock()
	lines := s.hostsLinesLocked(project)
	var ids []string
	for _, r := range s.replicas {
		svc := s.serviceLocked(key(r.Project, r.Service))
		if r.Project == project && r.State != Exited && svc != nil && svc.Network {
			ids = append(ids, r.ID)
		}
	}
	s.mu.Unlock()
	for _, id := range ids {
		if err := s.cfg.Hosts.SetHosts(id, lines); err != nil {
			// A replica being created may have no container yet: it writes its own.
			s.log.Debug("service names", "replica", id, "err", err)
		}
	}
}
