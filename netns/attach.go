package netns

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Attach gives the container whose network namespace is mounted (or found, as
// /proc/<pid>/ns/net) at nsPath an interface on network:
//
//	host netns                              container netns (nsPath)
//	hull-web (bridge, 10.88.0.1/24)
//	  └─ hv1a2b3c… (veth, hairpin on) ═══ eth0 (10.88.0.2/24), lo up
//	                                        default via 10.88.0.1
//
// The veth pair is created with its peer already in the container's namespace
// (IFLA_NET_NS_FD in the same RTM_NEWLINK): moving it there afterwards would cost an RCU
// grace period, ≈17–20 ms. Hairpin mode lets the bridge send a frame back out of the port
// it came in by, which a container reaching its own published port needs.
// On failure nothing is left: the pair is deleted and the lease released.
func (s *Store) Attach(ctx context.Context, network, containerID, nsPath string) (_ *Attachment, err error) {
	if err := validName("container", containerID); err != nil {
		return nil, err
	}
	a, err := s.ipam.lease(network, lease{ContainerID: containerID, IfName: ContainerIfName, HostVeth: vethName(network, containerID)})
	if err != nil {
		return nil, fmt.Errorf("attach %s to %s: %w", containerID, network, err)
	}
	defer func() {
		if err != nil {
			if rerr := s.ipam.release(network, containerID); rerr != nil {
				err = errors.Join(err, rerr)
			}
			err = fmt.Errorf("attach %s to %s: %w", containerID, network, err)
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.wire(a, nsPath); err != nil {
		return nil, err
	}
	return &a, nil
}

// wire makes the links, addresses and routes of attachment a.
func (s *Store) wire(a Attachment, nsPath string) (err error) {
	br, err := s.nl.LinkByName(bridgeName(a.Network))
	if err != nil {
		return fmt.Errorf("bridge of network %s: %w", a.Network, err)
	}
	cns, err := vnetns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", nsPath, err)
	}
	defer cns.Close()
	ch, err := netlink.NewHandleAt(cns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket in %s: %w", nsPath, err)
	}
	defer ch.Close()

	mtu := br.Attrs().MTU
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: a.HostVeth, MTU: mtu, Flags: net.FlagUp, MasterIndex: br.Attrs().Index, TxQLen: -1},
		PeerName:      a.IfName,
		PeerNamespace: netlink.NsFd(cns),
	}
	if err := s.step("netlink", fmt.Sprintf("ip link add %s mtu %d master %s up type veth peer name %s netns %s",
		a.HostVeth, mtu, br.Attrs().Name, a.IfName, nsPath), func() error { return s.nl.LinkAdd(veth) }); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// Deleting one end deletes the pair, the end in the container too.
			s.step("netlink", "ip link del "+a.HostVeth, func() error { return s.nl.LinkDel(veth) })
		}
	}()
	if err := s.step("netlink", "ip link set "+a.HostVeth+" type bridge_slave hairpin on", func() error {
		return s.nl.LinkSetHairpin(veth, true)
	}); err != nil {
		return err
	}

	in := "ip -n " + nsPath + " "
	// Loopback is ifindex 1 in every namespace (LOOPBACK_IFINDEX): no lookup needed.
	lo := &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: 1, Name: "lo"}}
	if err := s.step("netlink", in+"link set lo up", func() error { return ch.LinkSetUp(lo) }); err != nil {
		return err
	}
	eth, err := ch.LinkByName(a.IfName)
	if err != nil {
		return fmt.Errorf(in+"link show %s: %w", a.IfName, err)
	}
	if err := s.step("netlink", fmt.Sprintf("%saddr add %v dev %s", in, a.Addr, a.IfName), func() error {
		return ch.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(a.Addr)})
	}); err != nil {
		return err
	}
	if err := s.step("netlink", in+"link set "+a.IfName+" up", func() error { return ch.LinkSetUp(eth) }); err != nil {
		return err
	}
	return s.step("netlink", fmt.Sprintf("%sroute add default via %v dev %s", in, a.Gateway, a.IfName), func() error {
		return ch.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: a.Gateway.AsSlice()})
	})
}

// Detach undoes Attach: it deletes the host end of the veth pair if it still exists
// (when the container's namespace is gone, the pair went with it), deletes the conntrack
// entries of the container's address, so no flow keeps steering packets to an address
// that may soon be someone else's, and releases the lease. Detaching a container that is
// not attached is not an error.
func (s *Store) Detach(ctx context.Context, network, containerID string) error {
	var a Attachment
	found := false
	err := s.ipam.locked(func() error {
		st, err := s.ipam.load(network)
		if err != nil {
			return err
		}
		addr, l, ok := st.find(containerID)
		if ok {
			a, found = st.attachment(addr, l), true
		}
		return nil
	})
	if err != nil || !found {
		if err != nil {
			err = fmt.Errorf("detach %s from %s: %w", containerID, network, err)
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var notFound netlink.LinkNotFoundError
	if l, err := s.nl.LinkByName(a.HostVeth); err == nil {
		// ENODEV: the kernel removed the pair meanwhile, as it does when the container's netns goes.
		if err := s.step("netlink", "ip link del "+a.HostVeth, func() error { return s.nl.LinkDel(l) }); err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("detach %s from %s: %w", containerID, network, err)
		}
	} else if !errors.As(err, &notFound) {
		return fmt.Errorf("detach %s from %s: ip link show %s: %w", containerID, network, a.HostVeth, err)
	}
	if err := s.deleteConntrack(a); err != nil {
		return fmt.Errorf("detach %s from %s: %w", containerID, network, err)
	}
	if err := s.ipam.release(network, containerID); err != nil {
		return fmt.Errorf("detach %s from %s: %w", containerID, network, err)
	}
	return nil
}

// deleteConntrack deletes the flows from, to, or DNAT'd to the attachment's address, each
// by the tuple that holds the address (conntrack.go says why).
func (s *Store) deleteConntrack(a Attachment) error {
	ip := a.Addr.Addr()
	return s.step("netlink", "conntrack -D -s|-d|-r "+ip.String(), func() error {
		return s.forgetConntrack(func(f ctFlow) (bool, bool) {
			if f.orig.src == ip || f.orig.dst == ip {
				return true, false
			}
			return f.reply.src == ip, true
		})
	})
}
