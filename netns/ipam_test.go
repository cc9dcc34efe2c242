package netns

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestMain doubles as the child of TestIPAMProcesses: run with HULL_NETNS_IPAM_CHILD set,
// the test binary leases addresses and prints them instead of running tests.
func TestMain(m *testing.M) {
	if v := os.Getenv("HULL_NETNS_IPAM_CHILD"); v != "" {
		os.Exit(ipamChild(v))
	}
	os.Exit(m.Run())
}

// ipamChild: "dir,network,prefix,count" → lease count addresses, print one per line.
func ipamChild(v string) int {
	f := strings.Split(v, ",")
	n, _ := strconv.Atoi(f[3])
	p := ipam{dir: f[0]}
	for i := 0; i < n; i++ {
		a, err := p.lease(f[1], lease{ContainerID: fmt.Sprintf("%s-%d", f[2], i)})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(a.Addr.Addr())
	}
	return 0
}

func newTestIPAM(t *testing.T, subnet string) ipam {
	t.Helper()
	p := ipam{dir: t.TempDir()}
	s := netip.MustParsePrefix(subnet)
	if err := p.save(&netState{Network: Network{Name: "n", Bridge: bridgeName("n"), Subnet: s, Gateway: gatewayOf(s), MTU: DefaultMTU}}, true); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNextFree(t *testing.T) {
	sub := netip.MustParsePrefix("10.0.0.0/29") // .1 gateway, .2-.6 hosts, .7 broadcast
	gw := gatewayOf(sub)
	a := netip.MustParseAddr
	used := func(addrs ...string) map[netip.Addr]lease {
		m := map[netip.Addr]lease{}
		for _, s := range addrs {
			m[a(s)] = lease{}
		}
		return m
	}
	for _, tc := range []struct {
		name, last string
		used       map[netip.Addr]lease
		want       string
	}{
		{"first", "", nil, "10.0.0.2"},
		{"after last", "10.0.0.3", nil, "10.0.0.4"},
		{"skip used", "10.0.0.3", used("10.0.0.4", "10.0.0.5"), "10.0.0.6"},
		{"wrap, skipping broadcast, network and gateway", "10.0.0.6", nil, "10.0.0.2"},
		{"wrap to a freed address", "10.0.0.6", used("10.0.0.2", "10.0.0.4", "10.0.0.5", "10.0.0.6"), "10.0.0.3"},
		{"last outside the subnet", "192.168.0.9", nil, "10.0.0.2"},
		{"exhausted", "10.0.0.2", used("10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var last netip.Addr
			if tc.last != "" {
				last = a(tc.last)
			}
			got, err := nextFree(sub, gw, last, tc.used)
			if tc.want == "" {
				if !errors.Is(err, ErrExhausted) {
					t.Fatalf("got %v, %v; want ErrExhausted", got, err)
				}
				return
			}
			if err != nil || got != a(tc.want) {
				t.Fatalf("got %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestLeaseReleasePersist(t *testing.T) {
	p := newTestIPAM(t, "10.1.0.0/30") // room for exactly one container: .2
	a, err := p.lease("n", lease{ContainerID: "c1", IfName: "eth0", HostVeth: vethName("n", "c1")})
	if err != nil {
		t.Fatal(err)
	}
	if want := netip.MustParsePrefix("10.1.0.2/30"); a.Addr != want || a.Gateway != netip.MustParseAddr("10.1.0.1") {
		t.Fatalf("lease = %+v, want %v via 10.1.0.1", a, want)
	}
	if _, err := p.lease("n", lease{ContainerID: "c1"}); !errors.Is(err, ErrExists) {
		t.Fatalf("second lease for c1: %v, want ErrExists", err)
	}
	if _, err := p.lease("n", lease{ContainerID: "c2"}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("lease in a full /30: %v, want ErrExhausted", err)
	}
	if _, err := p.lease("nope", lease{ContainerID: "c2"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("lease on a missing network: %v, want ErrNotFound", err)
	}
	// A fresh ipam on the same directory (a new process) sees the lease.
	st, err := ipam{dir: p.dir}.load("n")
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := st.Leases[netip.MustParseAddr("10.1.0.2")]; !ok || l.ContainerID != "c1" || l.HostVeth != vethName("n", "c1") {
		t.Fatalf("persisted leases = %+v", st.Leases)
	}
	if err := p.release("n", "c1"); err != nil {
		t.Fatal(err)
	}
	if err := p.release("n", "c1"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if a, err := p.lease("n", lease{ContainerID: "c2"}); err != nil || a.Addr.Addr() != netip.MustParseAddr("10.1.0.2") {
		t.Fatalf("lease after release = %v, %v", a, err)
	}
}

func TestLeaseConcurrentGoroutines(t *testing.T) {
	p := newTestIPAM(t, "10.2.0.0/24")
	const n = 60
	addrs := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := p.lease("n", lease{ContainerID: fmt.Sprintf("c%d", i)})
			addrs[i], errs[i] = a.Addr.Addr(), err
		}()
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i, a := range addrs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[a] {
			t.Fatalf("address %v handed out twice", a)
		}
		seen[a] = true
	}
	st, _ := p.load("n")
	if len(st.Leases) != n {
		t.Fatalf("%d leases on file, want %d", len(st.Leases), n)
	}
}

// TestLeaseConcurrentProcesses re-executes the test binary: several processes lease from
// one directory at once, each taking the flock, and no address is handed out twice.
func TestLeaseConcurrentProcesses(t *testing.T) {
	p := newTestIPAM(t, "10.3.0.0/24")
	const procs, each = 4, 25
	outs := make([][]byte, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), fmt.Sprintf("HULL_NETNS_IPAM_CHILD=%s,n,p%d,%d", p.dir, i, each))
			cmd.Stderr = os.Stderr
			outs[i], errs[i] = cmd.Output()
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range procs {
		if errs[i] != nil {
			t.Fatalf("child %d: %v", i, errs[i])
		}
		for _, line := range strings.Fields(string(outs[i])) {
			if j, dup := seen[line]; dup {
				t.Fatalf("%s handed to child %d and child %d", line, j, i)
			}
			seen[line] = i
		}
	}
	if len(seen) != procs*each {
		t.Fatalf("%d distinct addresses, want %d", len(seen), procs*each)
	}
	st, _ := p.load("n")
	if len(st.Leases) != procs*each {
		t.Fatalf("%d leases on file, want %d", len(st.Leases), procs*each)
	}
}
