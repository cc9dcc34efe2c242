package netns

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"sync"
	"time"
)

// Recorder receives one record per kernel step, so --debug can narrate how a network is
// wired: op names the kernel interface ("netlink", "nftables", "sysctl", "mount", ...),
// args reads like the ip/nft command that would do the same.
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// Network is one bridge with its subnet. The bridge holds the gateway address; every
// attached container gets one address of the subnet and a default route via the gateway.
type Network struct {
	Name    string       `json:"name"`
	Bridge  string       `json:"bridge"`
	Subnet  netip.Prefix `json:"subnet"`
	Gateway netip.Addr   `json:"gateway"`
	MTU     int          `json:"mtu"`
}

// Attachment is one container's interface on one network.
type Attachment struct {
	Network     string       `json:"network"`
	ContainerID string       `json:"containerID"`
	IfName      string       `json:"ifname"`
	Addr        netip.Prefix `json:"addr"`
	Gateway     netip.Addr   `json:"gateway"`
	HostVeth    string       `json:"hostVeth"`
}

// Errors callers can test for with errors.Is.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("already exists")
	ErrInUse     = errors.New("in use")
	ErrExhausted = errors.New("no free address")
)

const (
	// DefaultDir is where a Store keeps its network definitions and leases.
	DefaultDir = "/var/lib/hull/networks"
	// DefaultMTU is the bridge's MTU, and so every veth's, unless a network says otherwise.
	DefaultMTU = 1500
	// ContainerIfName is the name of the container's end of the veth pair.
	ContainerIfName = "eth0"
	// tableName is hull's own nftables table (family inet); nothing else of the host's
	// ruleset is touched.
	tableName = "hull"
	// ifNameMax is IFNAMSIZ-1: the kernel's limit on an interface name.
	ifNameMax = 15
)

// autoPool is where Create picks a /24 when the caller gives no subnet.
var autoPool = netip.MustParsePrefix("10.88.0.0/16")

// nameRE is compiled on first use: every hull command links this package, and compiling the
// 64 repetitions at start-up cost each of them ≈0.1 ms (5% of `hull --version`).
var nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })

func validName(kind, s string) error {
	if !nameRE().MatchString(s) {
		return fmt.Errorf("%s name %q: want 1-64 of [a-zA-Z0-9_.-], starting with a letter or digit", kind, s)
	}
	return nil
}

// ParseSubnet parses an IPv4 subnet in CIDR notation. Host bits must be zero, and the
// prefix must leave room for a gateway and at least one container (/30 or shorter).
func ParseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("subnet %q: %w", s, err)
	}
	return p, checkSubnet(p)
}

func checkSubnet(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("subnet %v: invalid", p)
	case !p.Addr().Is4():
		return fmt.Errorf("subnet %v: only IPv4 is supported", p)
	case p.Bits() < 8 || p.Bits() > 30:
		return fmt.Errorf("subnet %v: prefix length must be between /8 and /30", p)
	case p != p.Masked():
		return fmt.Errorf("subnet %v: host bits set, did you mean %v", p, p.Masked())
	}
	return nil
}

// gatewayOf is the subnet's first host address, which the bridge holds.
func gatewayOf(p netip.Prefix) netip.Addr { return p.Addr().Next() }

// broadcastOf is the subnet's last address.
func broadcastOf(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	v := binary.BigEndian.Uint32(a[:]) | (1<<(32-p.Bits()) - 1)
	binary.BigEndian.PutUint32(a[:], v)
	return netip.AddrFrom4(a)
}

// bridgeName is "hull-<network>" when that fits in an interface name, else "hull-" and a
// hash of the network's name.
func bridgeName(network string) string {
	if n := "hull-" + network; len(n) <= ifNameMax {
		return n
	}
	return "hull-" + hash(network)[:ifNameMax-5]
}

// bridgeMAC is the fixed hardware address of a network's bridge. Without one the kernel
// gives a bridge the lowest address among its ports and changes it as ports come and go;
// containers keep the old gateway address in their neighbour cache, and when the port that
// owned it leaves, their replies go nowhere until the entry expires (seconds of stalled
// connections, e.g. when a crashing replica's veth is removed). A set address never moves.
// It is derived from the network's name and subnet, locally administered and unicast, so a
// bridge rebuilt after a reboot has the same one.
func bridgeMAC(n Network) net.HardwareAddr {
	h := sha256.Sum256([]byte(n.Name + "\x00" + n.Subnet.String()))
	mac := net.HardwareAddr(h[:6])
	mac[0] = mac[0]&^0x01 | 0x02 // unicast, locally administered
	return mac
}

// vethName names the host end of a container's veth pair: "hv" and a hash of network and
// container, so Detach and Reconcile can find it from the lease alone.
func vethName(network, containerID string) string {
	return "hv" + hash(network + "\x00" + containerID)[:ifNameMax-2]
}

func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// pickSubnet returns the first /24 of autoPool that overlaps none of taken.
func pickSubnet(taken []netip.Prefix) (netip.Prefix, error) {
	a := autoPool.Addr().As4()
	for i := 0; i < 256; i++ {
		a[2] = byte(i)
		p := netip.PrefixFrom(netip.AddrFrom4(a), 24)
		if !overlapsAny(p, taken) {
			return p, nil
		}
	}
	return netip.Prefix{}, fmt.Errorf("pick a subnet in %v: %w", autoPool, ErrExhausted)
}

func overlapsAny(p netip.Prefix, taken []netip.Prefix) bool {
	for _, t := range taken {
		if p.Overlaps(t) {
			return true
		}
	}
	return false
}

type nopRecorder struct{}

func (nopRecorder) Step(string, string, error, time.Duration) {}
