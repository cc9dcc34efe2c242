package netns

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Port is one published port: traffic to HostPort on any of the host's addresses goes to
// ContainerPort on an endpoint.
type Port struct {
	Proto         string `json:"proto"` // "tcp" or "udp"
	HostPort      uint16 `json:"hostPort"`
	ContainerPort uint16 `json:"containerPort"`
}

func (p Port) String() string { return fmt.Sprintf("%d:%d/%s", p.HostPort, p.ContainerPort, p.Proto) }

// ipProto is the port's IP protocol number, as conntrack and nftables want it.
func (p Port) ipProto() uint8 {
	if p.Proto == "udp" {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

// ParsePorts parses a comma-separated list of published ports in Docker's short syntax,
// "HOST:CONTAINER[/PROTO]" or "PORT[/PROTO]" (the same number on both sides), with PROTO
// tcp (the default) or udp: "8080:80,5353:53/udp". A host port may appear once per
// protocol. It is what hull reads from the org.hullrt.publish annotation, so it is
// untrusted input (see FuzzParsePorts).
func ParsePorts(s string) ([]Port, error) {
	var out []Port
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parsePort(item)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := checkPorts(out); err != nil {
		return nil, err
	}
	return out, nil
}

func parsePort(item string) (Port, error) {
	spec, proto, hasProto := strings.Cut(item, "/")
	if !hasProto {
		proto = "tcp"
	}
	host, ctr, hasCtr := strings.Cut(spec, ":")
	if !hasCtr {
		ctr = host
	}
	hp, err1 := parsePortNum(host)
	cp, err2 := parsePortNum(ctr)
	if err1 != nil || err2 != nil {
		return Port{}, fmt.Errorf("port %q: want HOST:CONTAINER[/tcp|udp] with ports 1-65535", item)
	}
	p := Port{Proto: proto, HostPort: hp, ContainerPort: cp}
	if proto != "tcp" && proto != "udp" {
		return Port{}, fmt.Errorf("port %q: protocol %q: want tcp or udp", item, proto)
	}
	return p, nil
}

func parsePortNum(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || strings.HasPrefix(s, "+") {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return uint16(n), nil
}

// checkPorts refuses what the kernel would refuse later or what cannot mean anything: an
// unknown protocol, port 0, or one host port published twice for a protocol.
func checkPorts(ps []Port) error {
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Proto != "tcp" && p.Proto != "udp" {
			return fmt.Errorf("port %v: protocol %q: want tcp or udp", p, p.Proto)
		}
		if p.HostPort == 0 || p.ContainerPort == 0 {
			return fmt.Errorf("port %v: ports must be 1-65535", p)
		}
		k := fmt.Sprintf("%d/%s", p.HostPort, p.Proto)
		if seen[k] {
			return fmt.Errorf("host port %s published twice", k)
		}
		seen[k] = true
	}
	return nil
}
