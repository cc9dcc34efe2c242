//go:build integration

package netns

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// pubEnv is a test host with network "pub" (10.98.0.0/24), two containers listening on
// TCP 7000 and UDP 7001 (answering with their name and the source they saw), and another
// host "world" at 192.0.2.2 on the test host's uplink 192.0.2.1.
type pubEnv struct {
	*env
	n        *Network
	c1, c2   string // netns paths
	ep1, ep2 Endpoint
	world    string
}

func newPubEnv(t *testing.T) *pubEnv {
	e := newEnv(t)
	n, err := e.store.Create(ctx, "pub", netip.MustParsePrefix("10.98.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	p := &pubEnv{env: e, n: n, world: e.world()}
	p.c1, p.c2 = e.newNS("c1"), e.newNS("c2")
	for _, c := range []struct {
		id, ns string
		ep     *Endpoint
	}{{"c1", p.c1, &p.ep1}, {"c2", p.c2, &p.ep2}} {
		a, err := e.store.Attach(ctx, "pub", c.id, c.ns)
		if err != nil {
			t.Fatal(err)
		}
		*c.ep = Endpoint{ID: c.id, Addr: a.Addr.Addr()}
		listenNamed(t, c.ns, ":7000", c.id)
		listenUDP(t, c.ns, ":7001", c.id)
	}
	t.Cleanup(func() {
		// Leak check: no service, relay or service chain may outlive the test's unpublish.
		svcs, err := e.store.Services()
		if err != nil || len(svcs) != 0 {
			t.Errorf("leak: services left: %v %v", svcs, err)
		}
		e.store.Detach(ctx, "pub", "c1")
		e.store.Detach(ctx, "pub", "c2")
		if err := e.store.Remove(ctx, "pub"); err != nil {
			t.Errorf("leak: remove network: %v", err)
		}
	})
	return p
}

func (p *pubEnv) dialTCP(from, addr string) string {
	p.t.Helper()
	got, err := dial(p.t, from, addr)
	if err != nil {
		return "error: " + err.Error()
	}
	return got
}

func (p *pubEnv) askUDP(from, addr string) string {
	p.t.Helper()
	got, err := ask(udpConn(p.t, from, addr))
	if err != nil {
		return "error: " + err.Error()
	}
	return got
}

// TestPublishOneEndpoint: a container's published TCP and UDP ports are reached from
// another host (keeping the client's address), from the host by any of its addresses and
// by 127.0.0.1 (through hull-relay, without route_localnet), from another container on the
// same bridge and from the container itself (hairpin, both masqueraded to the gateway).
// Unpublish takes it all away: rules, relay, file.
func TestPublishOneEndpoint(t *testing.T) {
	p := newPubEnv(t)
	s := p.store
	svc := Service{Name: "web", Network: "pub", Owner: "c1", Endpoints: []Endpoint{p.ep1},
		Ports: []Port{{"tcp", 8080, 7000}, {"udp", 5353, 7001}}}
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	gw := p.n.Gateway.String()
	for _, c := range []struct{ what, from, addr, want string }{
		{"another host", p.world, "192.0.2.1", "c1 192.0.2.2"},
		{"the host, by its uplink address", p.host, "192.0.2.1", "c1 192.0.2.1"},
		{"the host, by the gateway", p.host, gw, "c1 " + gw},
		{"the host, by 127.0.0.1", p.host, "127.0.0.1", "c1 " + gw},
		{"a container on the same bridge", p.c2, gw, "c1 " + gw},
		{"a container on the same bridge, by the uplink address", p.c2, "192.0.2.1", "c1 " + gw},
		{"the container itself (hairpin)", p.c1, gw, "c1 " + gw},
	} {
		if got := p.dialTCP(c.from, c.addr+":8080"); got != c.want {
			t.Errorf("TCP from %s to %s:8080: got %q, want %q", c.what, c.addr, got, c.want)
		}
		if got := p.askUDP(c.from, c.addr+":5353"); got != c.want {
			t.Errorf("UDP from %s to %s:5353: got %q, want %q", c.what, c.addr, got, c.want)
		}
	}
	if v, _ := os.ReadFile("/proc/sys/net/ipv4/conf/all/route_localnet"); strings.TrimSpace(string(v)) != "0" {
		t.Errorf("route_localnet is %q", v)
	}
	var relay int
	inNSPath(t, p.host, func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/conf/all/route_localnet")
		if strings.TrimSpace(string(b)) != "0" {
			t.Errorf("route_localnet in the host netns is %q", b)
		}
		return err
	})
	st, err := s.ipam.loadService("web")
	if err != nil || st.Relay == nil {
		t.Fatalf("service state: %+v %v", st, err)
	}
	relay = st.Relay.Pid

	// Publishing again with the same ports keeps the relay.
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.ipam.loadService("web"); st.Relay == nil || st.Relay.Pid != relay {
		t.Fatalf("relay restarted by an idempotent publish: %+v, was pid %d", st.Relay, relay)
	}
	// The kernel lost the rules (a reboot, a flush by hand): publishing again re-makes them.
	if err := s.nftService("web", nil, nil, netip.Addr{}, netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if got := p.dialTCP(p.world, "192.0.2.1:8080"); !strings.HasPrefix(got, "error") {
		t.Fatalf("port answers without its rules: %q", got)
	}
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got := p.dialTCP(p.world, "192.0.2.1:8080"); got != "c1 192.0.2.2" {
		t.Fatalf("after publishing again over lost rules: %q", got)
	}
	// Another service cannot take the port.
	other := Service{Name: "other", Network: "pub", Endpoints: []Endpoint{p.ep2}, Ports: []Port{{"tcp", 8080, 7000}}}
	if err := s.PublishService(ctx, other); !errors.Is(err, ErrInUse) {
		t.Fatalf("second service on 8080/tcp: %v, want ErrInUse", err)
	}
	if err := s.Remove(ctx, "pub"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove of a network with a service: %v, want ErrInUse", err)
	}

	if n := p.flowsTo(p.ep1.Addr, 5353); n == 0 {
		t.Fatal("no conntrack entry for the UDP flows before unpublish: the check below would prove nothing")
	}
	if err := s.UnpublishService(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if n := p.flowsTo(p.ep1.Addr, 5353); n != 0 {
		t.Errorf("%d conntrack entries of the service's flows left after unpublish", n)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", relay)); err == nil {
		t.Errorf("relay pid %d alive after unpublish", relay)
	}
	if got := p.dialTCP(p.world, "192.0.2.1:8080"); !strings.HasPrefix(got, "error") {
		t.Errorf("port still published after unpublish: %q", got)
	}
	if got := p.dialTCP(p.host, "127.0.0.1:8080"); !strings.HasPrefix(got, "error") {
		t.Errorf("127.0.0.1:8080 still answers after unpublish: %q", got)
	}
	p.noServiceChains()
	if err := s.UnpublishService(ctx, "web"); err != nil {
		t.Fatalf("second unpublish: %v", err)
	}
}

// noServiceChains fails the test if hull's table still has a service chain.
func (p *pubEnv) noServiceChains() {
	p.t.Helper()
	c, err := p.store.nftConn()
	if err != nil {
		p.t.Fatal(err)
	}
	if chains, err := serviceChains(c, ""); err != nil || len(chains) != 0 {
		p.t.Errorf("service chains left: %v %v", chains, err)
	}
}

// TestPublishMembership: two endpoints share new connections round-robin; a membership
// change is atomic and deletes the conntrack entries of the endpoint that left, so even a
// UDP flow that was going to it moves at once; a port can be dropped while others stay.
func TestPublishMembership(t *testing.T) {
	p := newPubEnv(t)
	s := p.store
	ports := []Port{{"tcp", 8080, 7000}, {"udp", 5353, 7001}}
	svc := Service{Name: "lb", Network: "pub", Endpoints: []Endpoint{p.ep1, p.ep2}, Ports: ports}
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.UnpublishService(ctx, "lb") })
	count := map[string]int{}
	for range 10 {
		got := p.dialTCP(p.world, "192.0.2.1:8080")
		name, _, _ := strings.Cut(got, " ")
		count[name]++
	}
	if count["c1"] != 5 || count["c2"] != 5 {
		t.Fatalf("10 connections spread %v, want 5 and 5", count)
	}
	// A UDP flow from a fixed port: conntrack keeps it on one endpoint.
	flow := udpConn(t, p.world, "192.0.2.1:5353")
	first, err := ask(flow)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if got, _ := ask(flow); got != first {
			t.Fatalf("UDP flow moved from %q to %q without a membership change", first, got)
		}
	}
	stay, leave := p.ep1, p.ep2
	if strings.HasPrefix(first, "c1") {
		stay, leave = p.ep2, p.ep1
	}
	svc.Endpoints = []Endpoint{stay}
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got, err := ask(flow); err != nil || !strings.HasPrefix(got, stay.ID) {
		t.Fatalf("UDP flow after %s left: %q %v, want it on %s at once", leave.ID, got, err, stay.ID)
	}
	for range 4 {
		if got := p.dialTCP(p.world, "192.0.2.1:8080"); !strings.HasPrefix(got, stay.ID) {
			t.Fatalf("after %s left, a connection went to %q", leave.ID, got)
		}
	}
	// No endpoints: refused, not hung.
	svc.Endpoints = nil
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if got := p.dialTCP(p.world, "192.0.2.1:8080"); !strings.HasPrefix(got, "error") || time.Since(start) > time.Second {
		t.Fatalf("no endpoints: got %q after %v, want a refusal", got, time.Since(start))
	}
	// Back to both, and drop the UDP port.
	svc.Endpoints, svc.Ports = []Endpoint{p.ep1, p.ep2}, ports[:1]
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if got := p.askUDP(p.world, "192.0.2.1:5353"); !strings.HasPrefix(got, "error") {
		t.Fatalf("dropped UDP port still answers: %q", got)
	}
	if got := p.dialTCP(p.host, "127.0.0.1:8080"); !strings.HasPrefix(got, "c") {
		t.Fatalf("127.0.0.1:8080 after the relay was restarted: %q", got)
	}
	if err := s.UnpublishService(ctx, "lb"); err != nil {
		t.Fatal(err)
	}
	p.noServiceChains()
}

// TestPublishChurnUnderLoad: a service republished over and over under steady load (what a
// rolling update does to its membership) refuses no connection, not even one that races a
// transaction (spread says how one could). 2000 rules put ahead of the dispatch rule widen
// the race from nanoseconds to tens of microseconds: without spread's fallback, a few
// connections in 200 changes go un-DNAT'd to the host's own port and are refused.
func TestPublishChurnUnderLoad(t *testing.T) {
	p := newPubEnv(t)
	s := p.store
	svc := Service{Name: "churn", Network: "pub", Endpoints: []Endpoint{p.ep1, p.ep2}, Ports: []Port{{"tcp", 8080, 7000}}}
	if err := s.PublishService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.UnpublishService(ctx, "churn") })
	c, err := s.nftConn()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 { // meta mark 0x1000+i: matches nothing, costs a compare
		c.InsertRule(&nftables.Rule{Table: hullTable, Chain: preroutingChain(), Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(uint32(0x1000 + i))},
		}})
		if i%50 == 49 { // a batch of 2000 is more than netlink carries at once
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	world, err := vnetns.GetFromPath(p.world)
	if err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var n int
	var failed []string
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// This thread joins the world and never leaves: it ends with the goroutine.
			goruntime.LockOSThread()
			if err := unix.Setns(int(world), unix.CLONE_NEWNET); err != nil {
				mu.Lock()
				failed = append(failed, "setns: "+err.Error())
				mu.Unlock()
				return
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := dialOnce("192.0.2.1:8080")
				mu.Lock()
				n++
				if err != nil || !strings.HasPrefix(got, "c") {
					failed = append(failed, fmt.Sprintf("%q %v", got, err))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range 200 {
		svc.Endpoints = []Endpoint{p.ep1, p.ep2}
		if i%2 == 1 {
			svc.Endpoints = []Endpoint{p.ep2, p.ep1} // another order: another transaction
		}
		if err := s.PublishService(ctx, svc); err != nil {
			t.Error(err)
			break
		}
	}
	close(stop)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d of %d connections failed while the service changed, first: %s", len(failed), n, failed[0])
	}
	t.Logf("200 changes, %d connections, none failed", n)
}

// dialOnce connects to addr from the calling thread's netns and reads the answer's line.
func dialOnce(addr string) (string, error) {
	return answer(net.DialTimeout("tcp4", addr, 2*time.Second))
}

// TestPublishBadInput: bad services are refused and leave nothing behind.
func TestPublishBadInput(t *testing.T) {
	p := newPubEnv(t)
	s := p.store
	for _, svc := range []Service{
		{Name: "x", Network: "nosuch", Ports: []Port{{"tcp", 1, 1}}},
		{Name: "bad/name", Network: "pub", Ports: []Port{{"tcp", 1, 1}}},
		{Name: "x", Network: "pub", Ports: []Port{{"sctp", 1, 1}}},
		{Name: "x", Network: "pub", Ports: []Port{{"tcp", 0, 1}}},
		{Name: "x", Network: "pub", Ports: []Port{{"tcp", 1, 1}}, Endpoints: []Endpoint{{"a", netip.MustParseAddr("10.1.1.1")}}},
		{Name: "x", Network: "pub", Ports: []Port{{"tcp", 1, 1}}, Endpoints: []Endpoint{p.ep1, p.ep1}},
	} {
		if err := s.PublishService(ctx, svc); err == nil {
			t.Errorf("PublishService(%+v) succeeded", svc)
		}
	}
	// A port something else holds on 127.0.0.1 in the host namespace.
	l := listen(t, p.host, "127.0.0.1:8089")
	err := s.PublishService(ctx, Service{Name: "taken", Network: "pub", Endpoints: []Endpoint{p.ep1}, Ports: []Port{{"tcp", 8089, 7000}}})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("publish on a taken 127.0.0.1 port: %v", err)
	}
	l.Close()
	p.noServiceChains()
}

// flowsTo counts the host's conntrack entries of flows to hostPort DNAT'd to addr.
func (p *pubEnv) flowsTo(addr netip.Addr, hostPort uint16) int {
	p.t.Helper()
	flows, err := p.store.nl.ConntrackTableList(netlink.ConntrackTable, unix.AF_INET)
	if err != nil {
		p.t.Fatal(err)
	}
	n := 0
	for _, f := range flows {
		if f.Reverse.SrcIP.Equal(addr.AsSlice()) && f.Forward.DstPort == hostPort {
			n++
		}
	}
	return n
}
