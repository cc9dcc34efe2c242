// Package netns gives containers a network: network namespaces, a bridge per network,
// a veth pair per container, addresses leased from the network's subnet, and NAT to the
// outside, all made in-process over netlink and nf_tables, never by running ip or nft.
//
// # What the kernel offers
//
// A network namespace (network_namespaces(7), clone(2)/unshare(2) with CLONE_NEWNET) is
// a whole network stack of its own: links, addresses, routes, sockets, /proc/sys/net,
// conntrack and nftables rules. A new one holds only a loopback link, down. It lives as
// long as a process is in it, a descriptor refers to it, or it is bind-mounted on a file
// (what `ip netns add` does); when it goes, every link in it goes too, in one batch.
//
// veth(4) links come in pairs: what one end sends the other receives, and the two ends
// may live in different namespaces, which makes a pair the cable from a container to the
// host. A bridge is a software switch; a veth end enslaved to it is a switch port, and an
// address on the bridge itself makes the host the network's gateway. hairpin_mode on a
// port lets the bridge send a frame back out the port it came in by (a container reaching
// its own published port through the host's NAT).
//
// rtnetlink(7) is the socket interface behind ip(8): RTM_NEWLINK, RTM_NEWADDR,
// RTM_NEWROUTE and friends. A netlink socket acts on the namespace it was created in,
// so a process can configure any namespace it can open by making a socket there, without
// moving itself. RTM_NEWLINK for a veth may carry IFLA_NET_NS_FD for the peer, creating
// that end directly inside the container's namespace; moving it there afterwards costs an
// RCU grace period, ≈17–20 ms.
//
// nf_tables (nft(8)) is the kernel's packet filter and NAT, programmed over netlink
// (NFNL_SUBSYS_NFTABLES) in transactions; tables are per family and per namespace, so a
// program can own one table without touching anyone else's rules. conntrack(8) entries,
// dumped and deleted over NFNL_SUBSYS_CTNETLINK, remember each flow's NAT decision.
//
// # How hull uses it
//
// A Store keeps its definitions and leases in a state directory (DefaultDir), one JSON
// file per network, changed only under flock(2) on a lock file so hull processes started
// side by side never lease one address twice. Its kernel objects live in one "host"
// namespace, the caller's unless HostNetNS names another (the tests use their own).
//
//   - Create: a bridge "hull-<name>" with the subnet's first address as gateway, up;
//     net.ipv4.ip_forward=1; and, in hull's own table "inet hull", a masquerade rule for
//     the subnet's traffic leaving by any other link plus forward accepts (see nft.go for
//     the layout). Remove undoes it, and deletes the table with the last network.
//   - Attach: lease the next free address (round-robin, so a freed address is reused
//     last), create the veth pair with "eth0" born inside the container's namespace and
//     the host end "hv<hash>" up on the bridge with hairpin on, then in the container:
//     lo up, the address, eth0 up, a default route via the gateway. The MTU is the
//     bridge's. On failure the pair is deleted and the lease released.
//   - Detach: delete the host end if still there, delete the address's conntrack entries,
//     release the lease. Reconcile re-creates every network's bridge and rules (after a
//     reboot) and releases the leases of containers that are gone.
//
// Every kernel step is reported to a Recorder as the ip/nft/sysctl line doing the same.
// We use github.com/vishvananda/netlink for rtnetlink and conntrack (already used in the
// field by CNI, Docker and Kubernetes, and it opens sockets inside a namespace for us),
// and github.com/google/nftables for nf_tables, since nothing in x/sys speaks either
// protocol and hand-rolled netlink messages would be a second library to maintain.
// In-process, an attach costs ≈2 ms against ≈12 ms for the same six ip commands.
//
// # Try it by hand
//
//	ip netns add c1 && ip link add br0 type bridge && ip addr add 10.88.0.1/24 dev br0 && ip link set br0 up && ip link add hv0 master br0 up type veth peer name eth0 netns c1 && ip -n c1 addr add 10.88.0.2/24 dev eth0 && ip -n c1 link set eth0 up && ip -n c1 route add default via 10.88.0.1 && ip netns exec c1 ping -c1 10.88.0.1
//
// # Not covered
//
// IPv6; published ports (hostPort → container DNAT; the table layout is designed in
// nft.go: a chain per attachment jumped to from prerouting and output, hairpin by
// masquerade, and br_netfilter for containers reaching a service on their own bridge;
// 127.0.0.1 on the host needs a userspace proxy, since the kernel way, route_localnet, is
// CVE-2020-8558); isolation between networks; a check that a subnet does not collide with
// the host's own routes; DNS (resolv.conf is the runtime's). Deleting a link costs an RCU
// grace period (≈20–35 ms) whoever asks, and a conntrack cleanup walks the whole hash table
// (≈9 ms with 262144 buckets, even empty), so Detach costs ≈30–40 ms against ≈2 ms for
// Attach; the kernel's own netns teardown is asynchronous, so a Detach right after the
// namespace is dropped usually still finds the pair and pays for it.
//
// Next stop: package runtime, which puts the leaves together into one container's
// lifecycle.
package netns
