package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Service is a set of published ports load-balanced over a set of endpoints. A container
// started with published ports is a service of one endpoint; the supervisor's replicated
// services have many. Every endpoint serves every port.
type Service struct {
	Name string `json:"name"`
	// Network holds the endpoints; its gateway is where hull-relay sends 127.0.0.1's
	// connections, and Remove refuses the network while the service exists.
	Network string `json:"network"`
	// Owner, when set, is the container whose end ends the service: Collect unpublishes
	// it once the owner is dead. The supervisor's services have none: it owns them.
	Owner     string     `json:"owner,omitempty"`
	Ports     []Port     `json:"ports"`
	Endpoints []Endpoint `json:"endpoints"`
	// Draining endpoints get no new connection, but the flows they have keep going to them
	// (their conntrack entries stay) until they leave this list too: a replica being
	// stopped finishes what it serves.
	Draining []Endpoint `json:"draining,omitempty"`
	// VIP, when set (ServiceVIP leases one), is the service's own address on its network:
	// connections to it, on any port, are spread over the endpoints as the published ports
	// are. It is also put on the bridge, so the containers' ARP for it is answered.
	VIP netip.Addr `json:"vip,omitzero"`
}

// Endpoint is one container serving a Service.
type Endpoint struct {
	ID   string     `json:"id"` // the container's id, for people and for Collect; may be empty
	Addr netip.Addr `json:"addr"`
}

// svcState is what a service's file holds: the desired service, and the relay serving its
// ports on 127.0.0.1.
type svcState struct {
	Service
	Relay *relayProc `json:"relay,omitempty"`
}

func (p ipam) svcDir() string             { return filepath.Join(p.dir, "services") }
func (p ipam) svcPath(name string) string { return filepath.Join(p.svcDir(), name+".json") }

func (p ipam) loadService(name string) (*svcState, error) {
	var st svcState
	if err := readJSON(p.svcPath(name), "service "+name, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (p ipam) allServices() ([]*svcState, error) {
	ents, err := os.ReadDir(p.svcDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*svcState
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			st, err := p.loadService(name)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (p ipam) saveService(st *svcState) error {
	if err := os.MkdirAll(p.svcDir(), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	dst := p.svcPath(st.Name)
	if err := os.WriteFile(dst+".tmp", b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return os.Rename(dst+".tmp", dst)
}

func (p ipam) removeService(name string) error {
	if err := os.Remove(p.svcPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Services returns every published service, sorted by name.
func (s *Store) Services() ([]Service, error) {
	var out []Service
	err := s.ipam.locked(func() error {
		all, err := s.ipam.allServices()
		for _, st := range all {
			out = append(out, st.Service)
		}
		return err
	})
	return out, err
}

// checkService validates svc against its network.
func checkService(svc Service, n Network) error {
	if err := validName("service", svc.Name); err != nil {
		return err
	}
	if err := checkPorts(svc.Ports); err != nil {
		return err
	}
	if svc.VIP.IsValid() && (!svc.VIP.Is4() || !n.Subnet.Contains(svc.VIP) || svc.VIP == n.Gateway) {
		return fmt.Errorf("virtual IP %v: not an address of network %s (%v)", svc.VIP, n.Name, n.Subnet)
	}
	seen := map[netip.Addr]bool{svc.VIP: true}
	for _, e := range slices.Concat(svc.Endpoints, svc.Draining) {
		switch {
		case !e.Addr.Is4() || !n.Subnet.Contains(e.Addr) || e.Addr == n.Gateway:
			return fmt.Errorf("endpoint %s %v: not a container address of network %s (%v)", e.ID, e.Addr, n.Name, n.Subnet)
		case seen[e.Addr]:
			return fmt.Errorf("endpoint %v listed twice", e.Addr)
		}
		seen[e.Addr] = true
	}
	return nil
}

// PublishService makes the kernel carry svc's ports to svc's endpoints, replacing what
// a service of that name had before: ports and endpoints change in one nftables
// transaction, so no connection ever sees half a change, and the conntrack entries of
// flows to endpoints that left are deleted, so no established flow (a UDP one above all)
// keeps going to them. Publishing the same service again changes nothing and costs one
// listing of the table's chains.
// A host port already published by another service is refused with ErrInUse, as is one
// that something else holds on 127.0.0.1.
func (s *Store) PublishService(ctx context.Context, svc Service) error {
	err := s.ipam.locked(func() error { return s.publish(ctx, svc) })
	if err != nil {
		return fmt.Errorf("publish service %s: %w", svc.Name, err)
	}
	return nil
}

// publish is PublishService with the lock held. A new service that fails halfway is
// taken away again; a changed one keeps its new file, so Reconcile can finish the change.
func (s *Store) publish(ctx context.Context, svc Service) (err error) {
	svc.Ports = slices.Clone(svc.Ports)
	svc.Endpoints = slices.Clone(svc.Endpoints)
	svc.Draining = slices.Clone(svc.Draining)
	n, err := s.ipam.load(svc.Network)
	if err != nil {
		return err
	}
	if err := checkService(svc, n.Network); err != nil {
		return err
	}
	all, err := s.ipam.allServices()
	if err != nil {
		return err
	}
	old := &svcState{}
	for _, o := range all {
		if o.Name == svc.Name {
			old = o
			continue
		}
		for _, p := range o.Ports {
			for _, q := range svc.Ports {
				if p.Proto == q.Proto && p.HostPort == q.HostPort {
					return fmt.Errorf("host port %d/%s: published by service %s: %w", q.HostPort, q.Proto, o.Name, ErrInUse)
				}
			}
		}
	}
	if old.Name != "" && old.Network != svc.Network {
		return fmt.Errorf("service %s is on network %s, not %s: %w", svc.Name, old.Network, svc.Network, ErrExists)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.unchanged(old, svc) {
		return nil // what a supervisor's every tick, or Reconcile, mostly asks for
	}
	// The intent first: after a crash from here on, the file names what may exist.
	st := &svcState{Service: svc, Relay: old.Relay}
	defer func() {
		if err != nil && old.Name == "" {
			err = errors.Join(err, s.unpublish(context.WithoutCancel(ctx), svc.Name))
		}
	}()
	if err := s.ipam.saveService(st); err != nil {
		return err
	}
	if svc.VIP.IsValid() {
		if err := s.vipOnBridge(n.Network, svc.VIP, true); err != nil {
			return err
		}
	}
	if err := s.nftService(svc.Name, svc.Ports, addrsOf(svc.Endpoints), svc.VIP, old.VIP); err != nil {
		return err
	}
	// An endpoint that moved to Draining keeps its flows; one that left both lists loses them.
	if err := s.forgetFlows(old.Ports, gone(slices.Concat(old.Endpoints, old.Draining), slices.Concat(svc.Endpoints, svc.Draining))); err != nil {
		return err
	}
	// A port that left is forgotten for the endpoints that stay too.
	if err := s.forgetFlows(gonePorts(old.Ports, svc.Ports), slices.Concat(svc.Endpoints, svc.Draining)); err != nil {
		return err
	}
	if old.Relay != nil && slices.Equal(old.Relay.Ports, svc.Ports) && s.relayAlive(old.Relay) {
		return nil
	}
	if err := s.stopRelay(old.Relay); err != nil {
		return err
	}
	st.Relay = nil
	if err := s.ipam.saveService(st); err != nil {
		return err
	}
	if len(svc.Ports) == 0 {
		return nil
	}
	return s.startRelay(n.Gateway, svc.Ports, func(rp relayProc) error {
		st.Relay = &rp
		return s.ipam.saveService(st)
	})
}

// UnpublishService removes service name: its rules, its relay, the conntrack entries of
// its flows, its file. Unpublishing a service that does not exist is not an error.
func (s *Store) UnpublishService(ctx context.Context, name string) error {
	err := s.ipam.locked(func() error { return s.unpublish(ctx, name) })
	if err != nil {
		return fmt.Errorf("unpublish service %s: %w", name, err)
	}
	return nil
}

// unpublish is UnpublishService with the lock held. Kernel first, file last: whatever a
// crash interrupts, the file still names what may be left.
func (s *Store) unpublish(ctx context.Context, name string) error {
	if err := validName("service", name); err != nil {
		return err
	}
	st, err := s.ipam.loadService(name)
	if errors.Is(err, ErrNotFound) {
		st = &svcState{Service: Service{Name: name}}
	} else if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.nftService(name, nil, nil, netip.Addr{}, st.VIP); err != nil && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if st.VIP.IsValid() {
		if n, err := s.ipam.load(st.Network); err == nil {
			if err := s.vipOnBridge(n.Network, st.VIP, false); err != nil {
				return err
			}
			if err := s.ipam.releaseLocked(st.Network, vipOwner(name)); err != nil {
				return err
			}
		}
	}
	if err := s.stopRelay(st.Relay); err != nil {
		return err
	}
	if err := s.forgetFlows(st.Ports, slices.Concat(st.Endpoints, st.Draining)); err != nil {
		return err
	}
	return s.ipam.removeService(name)
}

// unchanged reports whether old already is svc, in the file and in the kernel: the same
// ports and endpoints, every chain of them present, and a live relay. Then publishing svc
// again would change nothing, and a supervisor may call it every tick without paying for a
// transaction (and a reboot, which empties the table, still gets it re-made).
func (s *Store) unchanged(old *svcState, svc Service) bool {
	if old.Name == "" || old.Owner != svc.Owner || old.VIP != svc.VIP || !slices.Equal(old.Ports, svc.Ports) || !slices.Equal(old.Endpoints, svc.Endpoints) || !slices.Equal(old.Draining, svc.Draining) {
		return false
	}
	if len(svc.Ports) > 0 && (old.Relay == nil || !slices.Equal(old.Relay.Ports, svc.Ports) || !s.relayAlive(old.Relay)) {
		return false
	}
	c, err := s.nftConn()
	if err != nil {
		return false
	}
	have, err := serviceChains(c, svc.Name)
	if err != nil {
		return false
	}
	want := map[string]bool{}
	if svc.VIP.IsValid() {
		want[vipChainName(svc.Name)] = true
		for _, e := range svc.Endpoints {
			want[vipEpChainName(svc.Name, e.Addr)] = true
		}
	}
	for _, p := range svc.Ports {
		want[svcChainName(svc.Name, p)] = true
		for _, e := range svc.Endpoints {
			want[epChainName(svc.Name, p, e.Addr)] = true
		}
	}
	if len(have) != len(want) {
		return false
	}
	for _, ch := range have {
		if !want[ch] {
			return false
		}
	}
	return true
}

func (s *Store) relayAlive(rp *relayProc) bool {
	st, err := procStartTime(rp.Pid)
	return err == nil && st == rp.Start
}

// forgetFlows deletes the conntrack entries of flows to ports DNAT'd to eps: the kernel
// would otherwise keep sending an established flow (and a UDP "flow" is any packet within
// its timeout) to an endpoint that left the service, for as long as the entry lives.
func (s *Store) forgetFlows(ports []Port, eps []Endpoint) error {
	if len(ports) == 0 || len(eps) == 0 {
		return nil
	}
	return s.step("netlink", fmt.Sprintf("conntrack -D (ports %v, reply from %v)", ports, addrsOf(eps)), func() error {
		return s.forgetConntrack(func(f ctFlow) (bool, bool) {
			for _, p := range ports {
				if f.orig.proto != p.ipProto() || f.orig.dport != p.HostPort {
					continue
				}
				for _, e := range eps {
					if f.reply.src == e.Addr {
						return true, true
					}
				}
			}
			return false, false
		})
	})
}

func addrsOf(eps []Endpoint) []netip.Addr {
	var out []netip.Addr
	for _, e := range eps {
		out = append(out, e.Addr)
	}
	return out
}

// gone lists the endpoints of old whose address is not in now.
func gone(old, now []Endpoint) []Endpoint {
	var out []Endpoint
	for _, o := range old {
		if !slices.ContainsFunc(now, func(e Endpoint) bool { return e.Addr == o.Addr }) {
			out = append(out, o)
		}
	}
	return out
}

// gonePorts lists the ports of old whose protocol and host port are not in now.
func gonePorts(old, now []Port) []Port {
	var out []Port
	for _, o := range old {
		if !slices.ContainsFunc(now, func(p Port) bool { return p.Proto == o.Proto && p.HostPort == o.HostPort }) {
			out = append(out, o)
		}
	}
	return out
}
