//go:build integration

package netns

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
)

// logRecorder narrates each kernel step into the test log, the way hull --debug does.
type logRecorder struct{ t testing.TB }

func (r logRecorder) Step(op, args string, err error, took time.Duration) {
	if err != nil || os.Getenv("HULL_NETNS_TRACE") != "" {
		r.t.Logf("%-8s %s: %v (%v)", op, args, err, took)
	}
}

// env is one test's private world: a "host" netns holding the Store's bridges and table,
// a state dir, and a directory for container netns mounts.
type env struct {
	t     testing.TB
	dir   string
	host  string // path of the test host netns
	store *Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("netns integration tests need root")
	}
	leakCheck(t)
	dir := t.TempDir()
	e := &env{t: t, dir: dir, host: filepath.Join(dir, "ns", "host")}
	e.newNS("host")
	inNSPath(t, e.host, func() error { // lo up, so the host can reach itself
		l, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(l)
	})
	s, err := Open(filepath.Join(dir, "state"), logRecorder{t}, HostNetNS(e.host))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		// Leak check: a relay is a process, and would outlive the namespace's mount.
		for _, pid := range relaysIn(t, e.host) {
			t.Errorf("leak: hull-relay pid %d left in the test host netns", pid)
			syscall.Kill(pid, syscall.SIGKILL) // in this test's own netns: ours
		}
	})
	e.store = s
	return e
}

// newNS makes a netns under the env's directory, deleted at cleanup.
func (e *env) newNS(name string) string {
	e.t.Helper()
	p := filepath.Join(e.dir, "ns", name)
	if err := NewNetNS(p); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		if err := DeleteNetNS(p); err != nil {
			e.t.Error(err)
		}
	})
	return p
}

// inNSPath runs fn on a thread inside the netns at path.
func inNSPath(t testing.TB, path string, fn func() error) {
	t.Helper()
	ns, err := vnetns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	if err := inNS(int(ns), fn); err != nil {
		t.Fatalf("in %s: %v", path, err)
	}
}

// listen opens a TCP listener inside the netns at path that answers every connection
// with the peer address it saw, then closes it. A socket belongs to the namespace it was
// made in, so only socket() needs the thread in that namespace.
func listen(t testing.TB, path, addr string) net.Listener {
	t.Helper()
	var l net.Listener
	inNSPath(t, path, func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(c.RemoteAddr().(*net.TCPAddr).IP.String() + "\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return l
}

// dial connects from inside the netns at path and returns what the listener saw as our
// source address.
func dial(t testing.TB, path, addr string) (string, error) {
	t.Helper()
	return dialTimeout(t, path, addr, 3*time.Second)
}

func dialTimeout(t testing.TB, path, addr string, timeout time.Duration) (string, error) {
	t.Helper()
	var c net.Conn
	var err error
	inNSPath(t, path, func() error {
		d := net.Dialer{Timeout: timeout}
		c, err = d.DialContext(context.Background(), "tcp4", addr)
		return nil
	})
	return answer(c, err)
}

// answer reads the first line a dialled server sends, and closes the connection.
func answer(c net.Conn, dialErr error) (string, error) {
	if dialErr != nil {
		return "", dialErr
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// links lists the link names in the netns at path.
func links(t testing.TB, path string) []string {
	t.Helper()
	var names []string
	inNSPath(t, path, func() error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	slices.Sort(names)
	return names
}

// hullTableIn reports whether the netns at path (or the caller's when path is "") has an
// "inet hull" table.
func hullTableIn(t testing.TB, path string) bool {
	t.Helper()
	var opts []nftables.ConnOption
	if path != "" {
		ns, err := vnetns.GetFromPath(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		opts = append(opts, nftables.WithNetNSFd(int(ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range ts {
		if tb.Name == tableName {
			return true
		}
	}
	return false
}

// leakCheck snapshots the real root namespace and, at cleanup, fails the test if it now
// has a hull link or table it did not have, or if an nsfs mount is left under the temp dir.
func leakCheck(t testing.TB) {
	t.Helper()
	ours := func() []string {
		var out []string
		ls, err := netlink.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if n := l.Attrs().Name; strings.HasPrefix(n, "hull-") || strings.HasPrefix(n, "hv") {
				out = append(out, n)
			}
		}
		return out
	}
	linksBefore, tableBefore := ours(), hullTableIn(t, "")
	tmp := os.TempDir()
	t.Cleanup(func() {
		if now := ours(); !slices.Equal(now, linksBefore) {
			t.Errorf("leak: root netns hull links %v, before the test %v", now, linksBefore)
		}
		if !tableBefore && hullTableIn(t, "") {
			t.Errorf("leak: table inet hull in the root netns")
		}
		mi, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(mi), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && strings.HasPrefix(f[4], tmp) && strings.Contains(line, " nsfs ") {
				t.Errorf("leak: netns mount %s", f[4])
			}
		}
	})
}

// netlinkNsFd opens the netns at path, for PeerNamespace.
func netlinkNsFd(path string) (vnetns.NsHandle, error) { return vnetns.GetFromPath(path) }

// world makes a namespace joined to the test host by a veth pair (host "uplink"
// 192.0.2.1/24 — world "wan" 192.0.2.2/24): another host on the host's network.
func (e *env) world() string {
	e.t.Helper()
	world := e.newNS("world")
	inNSPath(e.t, e.host, func() error {
		w, err := netlinkNsFd(world)
		if err != nil {
			return err
		}
		defer w.Close()
		up := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink", TxQLen: -1}, PeerName: "wan", PeerNamespace: netlink.NsFd(w)}
		if err := netlink.LinkAdd(up); err != nil {
			return err
		}
		if err := netlink.AddrAdd(up, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("192.0.2.1/24"))}); err != nil {
			return err
		}
		return netlink.LinkSetUp(up)
	})
	inNSPath(e.t, world, func() error {
		for _, name := range []string{"lo", "wan"} {
			l, err := netlink.LinkByName(name)
			if err != nil {
				return err
			}
			if err := netlink.LinkSetUp(l); err != nil {
				return err
			}
		}
		wan, _ := netlink.LinkByName("wan")
		return netlink.AddrAdd(wan, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("192.0.2.2/24"))})
	})
	return world
}

// listenUDP answers every datagram with "NAME SOURCE-ADDRESS", from inside the netns at path.
func listenUDP(t testing.TB, path, addr, name string) {
	t.Helper()
	var c net.PacketConn
	inNSPath(t, path, func() (err error) { c, err = net.ListenPacket("udp4", addr); return err })
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			c.WriteTo([]byte(name+" "+from.(*net.UDPAddr).IP.String()), from)
		}
	}()
	t.Cleanup(func() { c.Close() })
}

// udpConn is a UDP socket in the netns at path, connected to addr, from a fixed local port
// so that successive asks are one conntrack flow.
func udpConn(t testing.TB, path, addr string) net.Conn {
	t.Helper()
	var c net.Conn
	inNSPath(t, path, func() (err error) { c, err = net.Dial("udp4", addr); return err })
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends one datagram on c and returns the answer.
func ask(c net.Conn) (string, error) {
	if _, err := c.Write([]byte("?")); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

// listenNamed is listen, answering "NAME SOURCE-ADDRESS".
func listenNamed(t testing.TB, path, addr, name string) {
	t.Helper()
	var l net.Listener
	inNSPath(t, path, func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(name + " " + c.RemoteAddr().(*net.TCPAddr).IP.String() + "\n"))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
}
