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
// A Store keeps its definitions, leases and services in a state directory (DefaultDir),
// changed only under flock(2) on a lock file so hull processes started side by side never
// lease one address twice. Its kernel objects live in one "host" namespace, the caller's
// unless HostNetNS names another (the tests use their own).
//
//   - Create: a bridge "hull-<name>" with the subnet's first address as gateway, up;
//     net.ipv4.ip_forward=1; and, in hull's own table "inet hull", a masquerade rule for
//     the subnet's traffic leaving by any other link, a hairpin masquerade rule, forward
//     accepts, and the services dispatch (see nft.go and svcnft.go). Remove undoes it, and
//     deletes the table with the last network.
//   - Attach: lease the next free address (round-robin, so a freed address is reused
//     last; a lease is one symlink, see ipam.go), create the veth pair with "eth0" born
//     inside the container's namespace and the host end "hv<hash>" up on the bridge with
//     hairpin on, then in the container: lo up, the address, eth0 up, a default route via
//     the gateway. The MTU is the bridge's. On failure the pair is deleted and the lease
//     released.
//   - Detach: delete the host end if still there, delete the address's conntrack entries,
//     release the lease.
//   - PublishService / UnpublishService: published ports (below).
//   - Collect releases what dead containers hold (leases, their services, their endpoints
//     in other services); Reconcile also re-creates every network's bridge and rules and
//     every service's rules and relay (after a reboot), and deletes service chains no file
//     names.
//
// # Published ports are services
//
// A published port is a Service: ports (hostPort → containerPort, TCP or UDP) and a set of
// endpoints (container addresses on one network). A container's --publish is a service of
// one endpoint; the supervisor's replicated services have many, load-balanced round-robin
// by the kernel. The layout is kube-proxy's nftables one (svcnft.go): a dispatch map keyed
// by protocol and port → a chain per service port doing "numgen inc mod N" → a chain per
// endpoint doing the DNAT. It answers on every address of the host (fib daddr type local),
// from other hosts and namespaces (prerouting) and from the host itself (output).
// Endpoints can also be Draining: out of the rules, their conntrack entries kept so open
// connections finish; an endpoint that leaves both lists loses its flows at once.
//
// A service may also have a virtual IP (vip.go): a lease of its network, a /32 on the
// bridge so the containers' ARP is answered, and a "vips" map → numgen → "dnat ip to ADDR"
// (every port kept) — the same spreading, for containers that name the service.
//
// Reached from the endpoint's own network, the DNAT'd flow goes back out of the bridge
// it came in by; the hairpin rule masquerades it to the gateway, so the reply comes back
// through the host to be un-NATed. That covers a container reaching its own port and its
// neighbours' alike, with or without br_netfilter (a module, and a global switch hull
// does not flip); the endpoint sees such clients as the gateway.
//
// 127.0.0.1 is different: the kernel routes a packet from 127.0.0.1 out of a real link
// only with route_localnet=1, which also lets the bridge's neighbours reach the host's
// loopback services (CVE-2020-8558), so hull never sets it. The only kernel alternative,
// a cgroup/connect4 eBPF program rewriting connect() (Cilium's socket LB), acts on whole
// cgroup trees rather than a namespace and needs cgroup2 and CAP_BPF. So each service with
// ports gets hull-relay (relay.go, relay/relay.c): a ≈20 KB static C program, ≈50 kB RSS
// (a Go process would cost ≈1.9 MB), that holds 127.0.0.1:PORT and splices each connection
// to GATEWAY:PORT, where the output chain's DNAT takes over; UDP through a small flow table.
// It knows no endpoints, so membership changes never touch it. hull has no daemon, so the
// relay is the one process a published service costs; it is started with a handshake (it
// runs only after its pid is on disk, and exits if hull dies first) and killed by pidfd.
//
// The supervisor drives services through this API (a small interface of its own holding
// these three methods is enough):
//
//	PublishService(ctx, Service{Name, Network, Ports, Endpoints}) error
//		atomically replace the service's ports and endpoint set (one nftables
//		transaction), delete the conntrack entries of flows to endpoints that left
//		(and of ports that left), start or keep its relay; idempotent, cheap to repeat.
//		ErrInUse: a host port another service (or anything on 127.0.0.1) holds.
//	UnpublishService(ctx, name) error
//		rules, relay, conntrack entries and file go; unknown names are not an error.
//	Services() ([]Service, error)
//
// Endpoint.ID is the container id, which Collect checks (an empty ID leaves the endpoint to
// the caller); Service.Owner, when set, ties the service's life to one container (what the
// runtime does for --publish). Names are [a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}: a supervisor's
// "project/service" key becomes e.g. "project.service".
//
// Every kernel step is reported to a Recorder as the ip/nft/sysctl line doing the same.
// We use github.com/vishvananda/netlink for rtnetlink and conntrack (already used in the
// field by CNI, Docker and Kubernetes, and it opens sockets inside a namespace for us),
// and github.com/google/nftables for nf_tables, since nothing in x/sys speaks either
// protocol and hand-rolled netlink messages would be a second library to maintain. One
// exception: conntrack entries are dumped and deleted with its nl package's raw requests
// (conntrack.go), because its ConntrackDeleteFilters names each entry by the original
// tuple, which for a DNAT'd flow can be a new, live flow of the same client port.
// In-process, an attach costs ≈1.5–2 ms against ≈10–15 ms for the same six ip commands
// and the CNI bridge plugin (test/bench/net.sh).
//
// # Crash safety
//
// Every change writes its intent before touching the kernel and forgets it after: a lease
// exists before its veth, a service's file before its rules, a relay's pid before it runs.
// So whatever a SIGKILL interrupts, the files name everything that may exist, and Collect
// (run by the runtime before each networked create) or Detach/UnpublishService remove it;
// crash_integration_test.go kills a process after every kernel step of an attach and a
// publish to prove it.
//
// # Try it by hand
//
//	ip netns add c1 && ip link add br0 type bridge && ip addr add 10.88.0.1/24 dev br0 && ip link set br0 up && ip link add hv0 master br0 up type veth peer name eth0 netns c1 && ip -n c1 addr add 10.88.0.2/24 dev eth0 && ip -n c1 link set eth0 up && ip -n c1 route add default via 10.88.0.1 && ip netns exec c1 ping -c1 10.88.0.1
//
// and a published port, the way hull lays it out:
//
//	nft add table inet t && nft add chain inet t pre '{ type nat hook prerouting priority dstnat; }' && nft add rule inet t pre fib daddr type local tcp dport 8080 dnat ip to 10.88.0.2:80
//
// # Not covered
//
// IPv6 (the relay and the rules are IPv4); publishing on one host address only (ports
// answer on all of them); isolation between networks; a check that a subnet does not
// collide with the host's own routes; name resolution (the runtime writes /etc/hosts with
// the container's own name; the supervisor appends its services' virtual IPs). Deleting a link costs an RCU grace period (≈20–35 ms) whoever asks, and a
// conntrack cleanup walks the whole hash table (≈9 ms with 262144 buckets, even empty), so
// Detach costs ≈30–40 ms against ≈2 ms for Attach; the runtime drops the container's
// namespace first, which takes the pair with it. The relay forks one process per TCP
// connection: fine for 127.0.0.1's traffic, not a data path for load.
//
// Next stop: package runtime, which puts the leaves together into one container's
// lifecycle.
package netns
