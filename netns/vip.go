package netns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// A service's virtual IP is a lease of its network like a container's, owned by
// "vip:<service>" (Collect leaves those alone: no container dies with them), and an address
// of the bridge (/32), so that the kernel answers the containers' ARP for it; the packets are
// DNAT'd to an endpoint in prerouting before any local delivery (svcnft.go), and come back
// through the hairpin masquerade rule.

const vipOwnerPrefix = "vip:"

func vipOwner(service string) string { return vipOwnerPrefix + service }

// ServiceVIP returns service's virtual IP on network, leasing one the first time. Publish the
// service with it (Service.VIP); UnpublishService releases it.
func (s *Store) ServiceVIP(ctx context.Context, network, service string) (netip.Addr, error) {
	if err := validName("service", service); err != nil {
		return netip.Addr{}, err
	}
	var found netip.Addr
	err := s.ipam.locked(func() error {
		st, err := s.ipam.load(network)
		if err != nil {
			return err
		}
		if a, _, ok := st.find(vipOwner(service)); ok {
			found = a
		}
		return nil
	})
	if err != nil || found.IsValid() {
		return found, err
	}
	if err := ctx.Err(); err != nil {
		return netip.Addr{}, err
	}
	a, err := s.ipam.lease(network, lease{ContainerID: vipOwner(service)})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("virtual IP of service %s: %w", service, err)
	}
	return a.Addr.Addr(), nil
}

// vipOnBridge adds (or deletes) vip/32 on network n's bridge.
func (s *Store) vipOnBridge(n Network, vip netip.Addr, add bool) error {
	br, err := s.nl.LinkByName(n.Bridge)
	if err != nil {
		if !add {
			return nil // the bridge is gone, and its addresses with it
		}
		return fmt.Errorf("ip link show %s: %w", n.Bridge, err)
	}
	a := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(vip, 32))}
	if add {
		return s.step("netlink", fmt.Sprintf("ip addr replace %v/32 dev %s", vip, n.Bridge), func() error { return s.nl.AddrReplace(br, a) })
	}
	err = s.step("netlink", fmt.Sprintf("ip addr del %v/32 dev %s", vip, n.Bridge), func() error { return s.nl.AddrDel(br, a) })
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return nil
	}
	return err
}
