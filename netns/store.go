package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Store creates networks and attaches containers to them. Its definitions and leases live
// in a state directory; its kernel objects in one "host" network namespace, the caller's
// own unless HostNetNS names another. A Store is safe for concurrent use, and several
// processes may open the same directory.
type Store struct {
	ipam   ipam
	rec    Recorder
	fork   func(func() error) error // ForkWith; runs start itself by default
	hostNS vnetns.NsHandle
	nl     *netlink.Handle // netlink sockets opened in hostNS
}

// Option changes how Open sets up a Store.
type Option func(*options)

type options struct {
	hostNS string
	fork   func(func() error) error
}

// HostNetNS makes the Store put its bridges, host veths and nftables table in the network
// namespace mounted at path instead of the caller's. Tests use it to keep everything in a
// namespace of their own.
func HostNetNS(path string) Option { return func(o *options) { o.hostNS = path } }

// ForkWith makes the Store start its helper process (hull-relay) by calling fork with the
// function that forks it, so the caller can choose the forking thread's attributes (hull: its
// timer slack, see runtime/sysmon).
func ForkWith(fork func(start func() error) error) Option {
	return func(o *options) { o.fork = fork }
}

// Open opens (creating it if needed) the state directory dir. rec may be nil.
func Open(dir string, rec Recorder, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if rec == nil {
		rec = nopRecorder{}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open network store: %w", err)
	}
	var ns vnetns.NsHandle
	var err error
	if o.hostNS != "" {
		ns, err = vnetns.GetFromPath(o.hostNS)
	} else {
		ns, err = vnetns.Get()
	}
	if err != nil {
		return nil, fmt.Errorf("open host netns %q: %w", o.hostNS, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE, unix.NETLINK_NETFILTER)
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	if o.fork == nil {
		o.fork = func(start func() error) error { return start() }
	}
	return &Store{ipam: ipam{dir: dir}, rec: rec, fork: o.fork, hostNS: ns, nl: h}, nil
}

// Close releases the Store's netlink sockets and namespace descriptor. Kernel objects
// and state stay.
func (s *Store) Close() error {
	s.nl.Close()
	return s.hostNS.Close()
}

// step runs one kernel operation and reports it.
func (s *Store) step(op, args string, fn func() error) error {
	start := time.Now()
	err := fn()
	s.rec.Step(op, args, err, time.Since(start))
	if err != nil {
		return fmt.Errorf("%s: %w", args, err)
	}
	return nil
}

// List returns every network, sorted by name.
func (s *Store) List() ([]Network, error) {
	var out []Network
	err := s.ipam.locked(func() error {
		all, err := s.ipam.all()
		for _, st := range all {
			out = append(out, st.Network)
		}
		return err
	})
	return out, err
}

// Attachments returns the containers attached to network.
func (s *Store) Attachments(network string) ([]Attachment, error) {
	var out []Attachment
	err := s.ipam.locked(func() error {
		st, err := s.ipam.load(network)
		if err != nil {
			return err
		}
		for a, l := range st.Leases {
			out = append(out, st.attachment(a, l))
		}
		return nil
	})
	return out, err
}

// Create makes network name: a bridge holding the subnet's first address as gateway, IPv4
// forwarding on, and masquerading of the subnet's traffic leaving by any other interface.
// A zero subnet picks a free /24 of 10.88.0.0/16.
func (s *Store) Create(ctx context.Context, name string, subnet netip.Prefix) (*Network, error) {
	if err := validName("network", name); err != nil {
		return nil, err
	}
	if subnet.IsValid() {
		if err := checkSubnet(subnet); err != nil {
			return nil, err
		}
	}
	var n Network
	err := s.ipam.locked(func() error {
		all, err := s.ipam.all()
		if err != nil {
			return err
		}
		var taken []netip.Prefix
		for _, st := range all {
			if st.Name == name {
				return fmt.Errorf("network %s: %w", name, ErrExists)
			}
			taken = append(taken, st.Subnet)
		}
		if !subnet.IsValid() {
			if subnet, err = pickSubnet(taken); err != nil {
				return err
			}
		} else if overlapsAny(subnet, taken) {
			return fmt.Errorf("subnet %v overlaps another hull network: %w", subnet, ErrInUse)
		}
		n = Network{Name: name, Bridge: bridgeName(name), Subnet: subnet, Gateway: gatewayOf(subnet), MTU: DefaultMTU}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.ensure(n); err != nil {
			s.teardown(n, len(all) == 0)
			return err
		}
		if err := s.ipam.save(&netState{Network: n}, true); err != nil {
			s.teardown(n, len(all) == 0)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", name, err)
	}
	return &n, nil
}

// ensure brings the kernel in line with network n; it is idempotent, so Reconcile can
// rebuild a network after a reboot from its state file alone.
func (s *Store) ensure(n Network) error {
	br, err := s.nl.LinkByName(n.Bridge)
	var notFound netlink.LinkNotFoundError
	switch {
	case errors.As(err, &notFound):
		br = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge, MTU: n.MTU, Flags: net.FlagUp, TxQLen: -1, HardwareAddr: bridgeMAC(n)}}
		if err := s.step("netlink", fmt.Sprintf("ip link add %s address %s mtu %d up type bridge", n.Bridge, bridgeMAC(n), n.MTU), func() error {
			return s.nl.LinkAdd(br)
		}); err != nil {
			return err
		}
	case err != nil:
		return fmt.Errorf("ip link show %s: %w", n.Bridge, err)
	case br.Type() != "bridge":
		return fmt.Errorf("link %s is a %s, not a bridge: %w", n.Bridge, br.Type(), ErrExists)
	default:
		// A bridge made by an older hull has a moving address (see bridgeMAC): pin it.
		if mac := bridgeMAC(n); !bytes.Equal(br.Attrs().HardwareAddr, mac) {
			if err := s.step("netlink", fmt.Sprintf("ip link set %s address %s", n.Bridge, mac), func() error {
				return s.nl.LinkSetHardwareAddr(br, mac)
			}); err != nil {
				return err
			}
		}
		if err := s.step("netlink", "ip link set "+n.Bridge+" up", func() error { return s.nl.LinkSetUp(br) }); err != nil {
			return err
		}
	}
	gw := netip.PrefixFrom(n.Gateway, n.Subnet.Bits())
	if err := s.step("netlink", fmt.Sprintf("ip addr replace %v dev %s", gw, n.Bridge), func() error {
		return s.nl.AddrReplace(br, &netlink.Addr{IPNet: ipNet(gw)})
	}); err != nil {
		return err
	}
	// Routing between the bridge and the host's other interfaces is IPv4 forwarding; the
	// switch is per namespace and, like Docker, hull turns it on for the whole namespace,
	// since replies come in on the uplink, whose own forwarding flag the kernel checks.
	if err := s.step("sysctl", "sysctl -w net.ipv4.ip_forward=1", func() error {
		return inNS(int(s.hostNS), func() error { return setSysctl("/proc/sys/net/ipv4/ip_forward", "1") })
	}); err != nil {
		return err
	}
	return s.nftEnsure(n)
}

// teardown removes what ensure made, best effort: it runs on the failure path and in
// Remove, after the state says the network is gone or never was.
func (s *Store) teardown(n Network, lastNetwork bool) error {
	errNft := s.nftRemove(n.Name, lastNetwork)
	var errLink error
	if br, err := s.nl.LinkByName(n.Bridge); err == nil {
		errLink = s.step("netlink", "ip link del "+n.Bridge, func() error { return s.nl.LinkDel(br) })
	}
	return errors.Join(errNft, errLink)
}

// Remove deletes network name: its rules, its bridge, and hull's nftables table when no
// network is left. A network with containers attached is not removed (ErrInUse).
func (s *Store) Remove(ctx context.Context, name string) error {
	err := s.ipam.locked(func() error {
		all, err := s.ipam.all()
		if err != nil {
			return err
		}
		var st *netState
		for _, x := range all {
			if x.Name == name {
				st = x
			}
		}
		if st == nil {
			return fmt.Errorf("network %s: %w", name, ErrNotFound)
		}
		if n := len(st.Leases); n > 0 {
			return fmt.Errorf("%d container(s) attached: %w", n, ErrInUse)
		}
		svcs, err := s.ipam.allServices()
		if err != nil {
			return err
		}
		for _, svc := range svcs {
			if svc.Network == name {
				return fmt.Errorf("service %s publishes ports on it: %w", svc.Name, ErrInUse)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.teardown(st.Network, len(all) == 1); err != nil {
			return err
		}
		return s.ipam.remove(name)
	})
	if err != nil {
		return fmt.Errorf("remove network %s: %w", name, err)
	}
	return nil
}

// Reconcile repairs the store after a crash or a reboot: every network's bridge, address
// and rules are made to exist again, every service's rules and relay too, chains of
// services hull no longer knows are deleted, and then Collect runs.
func (s *Store) Reconcile(ctx context.Context, alive func(containerID string) bool) error {
	all, svcs, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("reconcile networks: %w", err)
	}
	var errs []error
	for _, st := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.ipam.locked(func() error { return s.ensure(st.Network) }); err != nil {
			errs = append(errs, fmt.Errorf("reconcile network %s: %w", st.Name, err))
		}
	}
	if err := s.ipam.locked(func() error { return s.sweepChains(ctx) }); err != nil {
		errs = append(errs, fmt.Errorf("reconcile services: %w", err))
	}
	for _, svc := range svcs {
		if svc.Owner != "" && !alive(svc.Owner) {
			continue // Collect unpublishes it
		}
		if err := s.ipam.locked(func() error {
			st, err := s.ipam.loadService(svc.Name)
			if err != nil {
				return err
			}
			return s.publish(ctx, st.Service)
		}); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("reconcile service %s: %w", svc.Name, err))
		}
	}
	if err := s.Collect(ctx, alive); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// sweepChains deletes the chains of services that have no file: left by a hull older than
// the file, or by hand. Called with the lock held.
func (s *Store) sweepChains(ctx context.Context) error {
	c, err := s.nftConn()
	if err != nil {
		return err
	}
	if _, err := c.ListTableOfFamily(tableName, nftables.TableFamilyINet); err != nil {
		return nil // no table: nothing to sweep
	}
	chains, err := serviceChains(c, "")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, ch := range chains {
		name := chainService(ch)
		if seen[name] {
			continue
		}
		seen[name] = true
		if _, err := s.ipam.loadService(name); errors.Is(err, ErrNotFound) {
			if err := s.nftService(name, nil, nil, netip.Addr{}, netip.Addr{}); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// Collect reclaims what dead containers hold, cheaply enough to run before every create:
// services owned by a dead container are unpublished, dead endpoints leave the other
// services, and the leases of dead containers are released with their host veths and
// conntrack entries. alive says whether a container still exists; a container that is
// being created must count as alive (the runtime saves its state before attaching).
func (s *Store) Collect(ctx context.Context, alive func(containerID string) bool) error {
	all, svcs, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("collect: %w", err)
	}
	var errs []error
	for _, svc := range svcs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if svc.Owner != "" && !alive(svc.Owner) {
			if err := s.UnpublishService(ctx, svc.Name); err != nil {
				errs = append(errs, fmt.Errorf("collect: %w", err))
			}
			continue
		}
		if !slices.ContainsFunc(svc.Endpoints, func(e Endpoint) bool { return !alive(e.ID) }) {
			continue
		}
		err := s.ipam.locked(func() error {
			st, err := s.ipam.loadService(svc.Name)
			if err != nil {
				return err
			}
			st.Endpoints = slices.DeleteFunc(st.Endpoints, func(e Endpoint) bool { return !alive(e.ID) })
			return s.publish(ctx, st.Service)
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, fmt.Errorf("collect: service %s: %w", svc.Name, err))
		}
	}
	for _, st := range all {
		for _, l := range st.Leases {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !alive(l.ContainerID) && !strings.HasPrefix(l.ContainerID, vipOwnerPrefix) {
				if err := s.Detach(ctx, st.Name, l.ContainerID); err != nil {
					errs = append(errs, fmt.Errorf("collect: %w", err))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func setSysctl(path, val string) error {
	b, err := os.ReadFile(path)
	if err == nil && strings.TrimSpace(string(b)) == val {
		return nil
	}
	return os.WriteFile(path, []byte(val), 0o644)
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// snapshot reads every network and service under the store's lock, for a pass that then
// takes the lock again per change.
func (s *Store) snapshot() (all []*netState, svcs []*svcState, err error) {
	err = s.ipam.locked(func() (err error) {
		if all, err = s.ipam.all(); err != nil {
			return err
		}
		svcs, err = s.ipam.allServices()
		return err
	})
	return all, svcs, err
}
