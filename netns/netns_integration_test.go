//go:build integration

package netns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

var ctx = context.Background()

// TestTwoContainersAndOutside: a network, two containers talking over TCP, and one reaching
// an "outside" namespace wired to the test host, seen there with the host's address.
func TestTwoContainersAndOutside(t *testing.T) {
	e := newEnv(t)
	s := e.store
	n, err := s.Create(ctx, "t1", netip.MustParsePrefix("10.99.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if !hullTableIn(t, e.host) {
		t.Fatal("no inet hull table in the test host netns")
	}
	c1, c2 := e.newNS("c1"), e.newNS("c2")
	a1, err := s.Attach(ctx, "t1", "c1", c1)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.Attach(ctx, "t1", "c2", c2)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Addr.Addr() == a2.Addr.Addr() || a1.Gateway != n.Gateway {
		t.Fatalf("attachments %+v %+v", a1, a2)
	}
	if got := links(t, c1); !slices.Equal(got, []string{"eth0", "lo"}) {
		t.Fatalf("links in c1: %v", got)
	}

	// Container to container, on the bridge: the source is kept.
	listen(t, c1, a1.Addr.Addr().String()+":7000")
	if got, err := dial(t, c2, a1.Addr.Addr().String()+":7000"); err != nil || got != a2.Addr.Addr().String() {
		t.Fatalf("c2 → c1: saw %q, %v; want %v", got, err, a2.Addr.Addr())
	}
	// Container to the host, through the gateway.
	listen(t, e.host, n.Gateway.String()+":7001")
	if got, err := dial(t, c1, n.Gateway.String()+":7001"); err != nil || got != a1.Addr.Addr().String() {
		t.Fatalf("c1 → host: saw %q, %v", got, err)
	}

	// The outside world: a namespace joined to the test host by a veth pair; it has no
	// route to the containers, so only masquerading lets their connections through.
	world := e.world()
	listen(t, world, "192.0.2.2:7002")
	if got, err := dial(t, c2, "192.0.2.2:7002"); err != nil || got != "192.0.2.1" {
		t.Fatalf("c2 → outside: saw %q, %v; want the host's 192.0.2.1", got, err)
	}

	// Remove refuses while containers are attached.
	if err := s.Remove(ctx, "t1"); !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove with attachments: %v, want ErrInUse", err)
	}

	// Detach c1 while its namespace lives: the host veth goes, the lease is freed.
	if err := s.Detach(ctx, "t1", "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := dialTimeout(t, c2, a1.Addr.Addr().String()+":7000", 300*time.Millisecond); err == nil {
		t.Fatal("c1 still reachable after Detach")
	}
	// c2's namespace goes first, then Detach: the pair went with the namespace.
	if err := DeleteNetNS(c2); err != nil {
		t.Fatal(err)
	}
	if err := s.Detach(ctx, "t1", "c2"); err != nil {
		t.Fatal(err)
	}
	if err := s.Detach(ctx, "t1", "c2"); err != nil {
		t.Fatalf("second Detach: %v", err)
	}
	if as, err := s.Attachments("t1"); err != nil || len(as) != 0 {
		t.Fatalf("attachments after Detach: %v, %v", as, err)
	}
	if got := links(t, e.host); !slices.Equal(got, []string{"hull-t1", "lo", "uplink"}) {
		t.Fatalf("links in the host netns after Detach: %v", got)
	}

	if err := s.Remove(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if got := links(t, e.host); !slices.Equal(got, []string{"lo", "uplink"}) {
		t.Fatalf("links in the host netns after Remove: %v", got)
	}
	if hullTableIn(t, e.host) {
		t.Fatal("table inet hull left after the last network was removed")
	}
	if ns, err := s.List(); err != nil || len(ns) != 0 {
		t.Fatalf("List after Remove: %v, %v", ns, err)
	}
}

// TestTwoNetworks: removing one network keeps the table and the other's rules.
func TestTwoNetworks(t *testing.T) {
	e := newEnv(t)
	s := e.store
	if _, err := s.Create(ctx, "a", netip.Prefix{}); err != nil {
		t.Fatal(err)
	}
	b, err := s.Create(ctx, "b", netip.Prefix{})
	if err != nil {
		t.Fatal(err)
	}
	if b.Subnet != netip.MustParsePrefix("10.88.1.0/24") {
		t.Fatalf("second auto subnet %v", b.Subnet)
	}
	if _, err := s.Create(ctx, "a", netip.Prefix{}); !errors.Is(err, ErrExists) {
		t.Fatalf("Create twice: %v", err)
	}
	if _, err := s.Create(ctx, "c", netip.MustParsePrefix("10.88.1.128/25")); !errors.Is(err, ErrInUse) {
		t.Fatalf("Create overlapping: %v", err)
	}
	if err := s.Remove(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if !hullTableIn(t, e.host) {
		t.Fatal("table removed while network b remains")
	}
	// Reconcile rebuilds b's bridge, as after a reboot.
	inNSPath(t, e.host, func() error {
		l, err := netlink.LinkByName("hull-b")
		if err != nil {
			return err
		}
		return netlink.LinkDel(l)
	})
	if err := s.Reconcile(ctx, func(string) bool { return true }); err != nil {
		t.Fatal(err)
	}
	if got := links(t, e.host); !slices.Contains(got, "hull-b") {
		t.Fatalf("Reconcile did not rebuild hull-b: %v", got)
	}
	if err := s.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if hullTableIn(t, e.host) {
		t.Fatal("table left after the last network was removed")
	}
}

// TestConcurrentAttach: 50 containers attached at once get 50 distinct addresses, and
// Reconcile reclaims the leases of the dead ones.
func TestConcurrentAttach(t *testing.T) {
	e := newEnv(t)
	s := e.store
	if _, err := s.Create(ctx, "many", netip.MustParsePrefix("10.77.0.0/24")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Remove(ctx, "many") })
	const n = 50
	paths := make([]string, n)
	for i := range paths {
		paths[i] = e.newNS(fmt.Sprintf("m%d", i))
	}
	atts := make([]*Attachment, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			atts[i], errs[i] = s.Attach(ctx, "many", fmt.Sprintf("m%d", i), paths[i])
		}()
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[atts[i].Addr.Addr()] {
			t.Fatalf("%v handed out twice", atts[i].Addr)
		}
		seen[atts[i].Addr.Addr()] = true
	}
	if got := len(links(t, e.host)); got != n+2 {
		t.Fatalf("%d links in the host netns, want %d", got, n+2)
	}
	// The first half "crash": their namespaces go, then Reconcile finds them dead.
	for i := range n / 2 {
		if err := DeleteNetNS(paths[i]); err != nil {
			t.Fatal(err)
		}
	}
	alive := func(id string) bool {
		var i int
		fmt.Sscanf(id, "m%d", &i)
		return i >= n/2
	}
	if err := s.Reconcile(ctx, alive); err != nil {
		t.Fatal(err)
	}
	as, err := s.Attachments("many")
	if err != nil || len(as) != n-n/2 {
		t.Fatalf("%d attachments after Reconcile (%v), want %d", len(as), err, n-n/2)
	}
	for i := n / 2; i < n; i++ {
		if err := s.Detach(ctx, "many", fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := links(t, e.host); !slices.Equal(got, []string{"hull-many", "lo"}) {
		t.Fatalf("links left: %v", got)
	}
}

// TestAttachTiming compares Attach+Detach in-process with the same steps done by the ip
// command, and logs both.
func TestAttachTiming(t *testing.T) {
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) not installed; nothing to compare with")
	}
	e := newEnv(t)
	s := e.store
	n, err := s.Create(ctx, "bench", netip.MustParsePrefix("10.66.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Remove(ctx, "bench") })
	const rounds = 30
	var attach, detach, dropDetach, ipAttach, ipDetach []time.Duration
	// ip's -n takes only names under /run/netns, so each command is started from a
	// thread inside the namespace it works on, and inherits it.
	ip := func(ns string, args ...string) {
		inNSPath(t, ns, func() error {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("ip %v: %v: %s", args, err, out)
			}
			return nil
		})
	}
	for i := range rounds {
		// Ours, detaching while the container's netns lives: Detach deletes the pair.
		c := e.newNS(fmt.Sprintf("b%d", i))
		id := fmt.Sprintf("b%d", i)
		start := time.Now()
		if _, err := s.Attach(ctx, "bench", id, c); err != nil {
			t.Fatal(err)
		}
		attach = append(attach, time.Since(start))
		start = time.Now()
		if err := s.Detach(ctx, "bench", id); err != nil {
			t.Fatal(err)
		}
		detach = append(detach, time.Since(start))

		// Ours, the way the runtime deletes a container: the netns goes first, and the
		// pair with it, so Detach has no link to delete.
		c = e.newNS(fmt.Sprintf("d%d", i))
		id = fmt.Sprintf("d%d", i)
		if _, err := s.Attach(ctx, "bench", id, c); err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		if err := DeleteNetNS(c); err != nil {
			t.Fatal(err)
		}
		if err := s.Detach(ctx, "bench", id); err != nil {
			t.Fatal(err)
		}
		dropDetach = append(dropDetach, time.Since(start))

		// The same kernel objects by hand (no lease, no conntrack).
		c = e.newNS(fmt.Sprintf("i%d", i))
		addr := fmt.Sprintf("10.66.0.%d/24", 200+i%50)
		veth := fmt.Sprintf("ipv%d", i)
		start = time.Now()
		ip(e.host, "link", "add", "name", veth, "mtu", "1500", "master", n.Bridge, "up", "type", "veth", "peer", "name", "eth0", "netns", c)
		ip(e.host, "link", "set", veth, "type", "bridge_slave", "hairpin", "on")
		ip(c, "link", "set", "lo", "up")
		ip(c, "addr", "add", addr, "dev", "eth0")
		ip(c, "link", "set", "eth0", "up")
		ip(c, "route", "add", "default", "via", n.Gateway.String())
		ipAttach = append(ipAttach, time.Since(start))
		start = time.Now()
		ip(e.host, "link", "del", veth)
		ipDetach = append(ipDetach, time.Since(start))
	}
	med := func(d []time.Duration) time.Duration {
		d = slices.Clone(d)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	t.Logf("median of %d: Attach %v (ip: %v, %.1fx); Detach deleting the pair %v (ip link del: %v); netns dropped, then Detach %v",
		rounds, med(attach), med(ipAttach), float64(med(ipAttach))/float64(med(attach)), med(detach), med(ipDetach), med(dropDetach))
}

// The bridge keeps one hardware address while ports come and go: containers cache the
// gateway's address, and a bridge that took the lowest port address would move it under
// them when that port left (replies lost until the cache entry expires).
func TestBridgeAddressStaysPut(t *testing.T) {
	e := newEnv(t)
	n, err := e.store.Create(ctx, "mac", netip.MustParsePrefix("10.99.7.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	want := bridgeMAC(*n).String()
	bridgeAddr := func(when string) {
		t.Helper()
		var got string
		inNSPath(t, e.host, func() error {
			l, err := netlink.LinkByName(n.Bridge)
			if err == nil {
				got = l.Attrs().HardwareAddr.String()
			}
			return err
		})
		if got != want {
			t.Fatalf("bridge address %s %s, want %s", got, when, want)
		}
	}
	bridgeAddr("after create")
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("m%d", i)
		if _, err := e.store.Attach(ctx, "mac", id, e.newNS(id)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		bridgeAddr("after attaching " + id)
	}
	for _, id := range ids[:3] {
		if err := e.store.Detach(ctx, "mac", id); err != nil {
			t.Fatal(err)
		}
		bridgeAddr("after detaching " + id)
	}
	if err := e.store.Detach(ctx, "mac", ids[3]); err != nil {
		t.Fatal(err)
	}
}
