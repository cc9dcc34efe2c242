package netns

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Published ports live in hull's table too, laid out like kube-proxy's nftables mode, so
// that a service with many endpoints is the same few objects as one with one endpoint:
//
//	map services {	# type inet_proto . inet_service : verdict — the dispatch map
//		tcp . 8080 : goto svc/web/tcp/8080,
//		udp . 5353 : goto svc/web/udp/5353 }
//	chain prerouting {	# type nat hook prerouting priority dstnat: from other hosts and containers
//		meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @services }
//	chain output {		# type nat hook output priority dstnat: from the host itself
//		meta nfproto ipv4 ip daddr != 127.0.0.0/8 fib daddr type local meta l4proto . th dport vmap @services }
//	chain svc/web/tcp/8080 {	# one per service port: round-robin over the endpoints
//		numgen inc mod 2 vmap { 0 : goto ep/web/tcp/8080/10.88.0.2, 1 : goto ep/web/tcp/8080/10.88.0.3 }
//		goto ep/web/tcp/8080/10.88.0.2 }	# reached only by a packet racing a change (spread)
//	chain ep/web/tcp/8080/10.88.0.2 {	# one per service port and endpoint
//		meta l4proto tcp dnat ip to 10.88.0.2:80 }
//
// "fib daddr type local" matches a packet for any address of the host (the gateway of
// every network included), which is what "publish on all addresses" means. 127.0.0.0/8 is
// left alone in output: the kernel drops a 127.0.0.1-sourced packet routed out of a
// non-loopback link unless route_localnet is set (CVE-2020-8558), so those connections go
// to hull-relay listening there (relay.go). Replies are un-NATed by conntrack.
//
// A membership change is one nftables transaction: svc chains are flushed and refilled,
// ep chains of departed endpoints flushed and deleted, dispatch elements added or deleted.
// The rules a packet runs are all of one generation, but a set lookup is not: see spread.
// Chain names carry the service name, so the kernel itself says what a service has.

const (
	servicesMapName = "services"
	vipsMapName     = "vips"
	vipChainPart    = "vip"
	svcPrefix       = "svc/"
	epPrefix        = "ep/"
	dispatchTag     = "hull:dispatch"
)

func servicesMap() *nftables.Set {
	return &nftables.Set{
		Table: hullTable, Name: servicesMapName, IsMap: true, Concatenation: true,
		KeyType:  nftables.MustConcatSetType(nftables.TypeInetProto, nftables.TypeInetService),
		DataType: nftables.TypeVerdict,
	}
}

// vipsMap sends a service's virtual IP to its chain:
//
//	map vips { type ipv4_addr : verdict; 10.88.0.250 : goto svc/web/vip }
//	chain prerouting { ... ip daddr vmap @vips }	(and output, for the host)
//	chain svc/web/vip { numgen inc mod 2 vmap { 0 : goto ep/web/vip/10.88.0.2, ... } }
//	chain ep/web/vip/10.88.0.2 { dnat ip to 10.88.0.2 }	# every port, kept as it is
func vipsMap() *nftables.Set {
	return &nftables.Set{Table: hullTable, Name: vipsMapName, IsMap: true, KeyType: nftables.TypeIPAddr, DataType: nftables.TypeVerdict}
}

func natChain(name string, hook *nftables.ChainHook) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: hullTable, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: nftables.ChainPriorityNATDest}
}

func preroutingChain() *nftables.Chain { return natChain("prerouting", nftables.ChainHookPrerouting) }
func outputChain() *nftables.Chain     { return natChain("output", nftables.ChainHookOutput) }

func svcChainName(svc string, p Port) string {
	return fmt.Sprintf("%s%s/%s/%d", svcPrefix, svc, p.Proto, p.HostPort)
}

func epChainName(svc string, p Port, a netip.Addr) string {
	return fmt.Sprintf("%s%s/%s/%d/%v", epPrefix, svc, p.Proto, p.HostPort, a)
}

func regularChain(name string) *nftables.Chain { return &nftables.Chain{Name: name, Table: hullTable} }

// dispatchKey is a services map key: inet_proto . inet_service, each padded to 4 bytes.
func dispatchKey(p Port) []byte {
	return []byte{p.ipProto(), 0, 0, 0, byte(p.HostPort >> 8), byte(p.HostPort), 0, 0}
}

// dispatchRules send packets for a local address to the service chain their protocol and
// destination port name, if any.
func dispatchRules() []*nftables.Rule {
	lookup := func(prefix ...expr.Any) []expr.Any {
		e := []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		}
		e = append(e, prefix...)
		return append(e,
			&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: 1, SetName: servicesMapName, DestRegister: 0, IsDestRegSet: true},
		)
	}
	notLoopback := []expr.Any{ // ip daddr != 127.0.0.0/8
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{127}},
	}
	vip := []expr.Any{ // meta nfproto ipv4 ip daddr vmap @vips
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: vipsMapName, DestRegister: 0, IsDestRegSet: true},
	}
	tag := []byte(dispatchTag)
	return []*nftables.Rule{
		{Table: hullTable, Chain: preroutingChain(), UserData: tag, Exprs: vip},
		{Table: hullTable, Chain: outputChain(), UserData: tag, Exprs: vip},
		{Table: hullTable, Chain: preroutingChain(), UserData: tag, Exprs: lookup()},
		{Table: hullTable, Chain: outputChain(), UserData: tag, Exprs: lookup(notLoopback...)},
	}
}

// epRule: meta l4proto PROTO dnat ip to ADDR:PORT.
func epRule(ch *nftables.Chain, p Port, a netip.Addr) *nftables.Rule {
	a4 := a.As4()
	return &nftables.Rule{Table: hullTable, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{p.ipProto()}},
		&expr.Immediate{Register: 1, Data: a4[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}}
}

// vipChains names a service's virtual-IP chains: "svc/NAME/vip", "ep/NAME/vip/ADDR".
func vipChainName(svc string) string { return svcPrefix + svc + "/" + vipChainPart }
func vipEpChainName(svc string, a netip.Addr) string {
	return fmt.Sprintf("%s%s/%s/%v", epPrefix, svc, vipChainPart, a)
}

// vipEpRule: dnat ip to ADDR (the port is left as it is: every port of the VIP).
func vipEpRule(ch *nftables.Chain, a netip.Addr) *nftables.Rule {
	a4 := a.As4()
	return &nftables.Rule{Table: hullTable, Chain: ch, Exprs: []expr.Any{
		&expr.Immediate{Register: 1, Data: a4[:]},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1},
	}}
}

// applyService queues, on c, the changes that turn the kernel's objects of service name
// (the chains in have) into those of ports × addrs, and of its virtual IP vip (oldVIP is the
// one it had, if any). Nothing reaches the kernel before c.Flush, which sends it all as one
// transaction.
func applyService(c *nftables.Conn, name string, ports []Port, addrs []netip.Addr, vip, oldVIP netip.Addr, have []string) error {
	want := map[string]bool{}
	m := servicesMap()
	if oldVIP.IsValid() && oldVIP != vip {
		if err := c.SetDeleteElements(vipsMap(), []nftables.SetElement{{Key: oldVIP.AsSlice()}}); err != nil {
			return err
		}
	}
	if vip.IsValid() {
		svc := c.AddChain(regularChain(vipChainName(name)))
		c.FlushChain(svc)
		want[svc.Name] = true
		var eps []string
		for _, a := range addrs {
			ep := c.AddChain(regularChain(vipEpChainName(name, a)))
			c.FlushChain(ep)
			c.AddRule(vipEpRule(ep, a))
			want[ep.Name] = true
			eps = append(eps, ep.Name)
		}
		if err := spread(c, svc, eps); err != nil {
			return err
		}
		if err := c.SetAddElements(vipsMap(), []nftables.SetElement{{Key: vip.AsSlice(),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: svc.Name}}}); err != nil {
			return err
		}
	}
	for _, p := range ports {
		svc := c.AddChain(regularChain(svcChainName(name, p)))
		c.FlushChain(svc)
		want[svc.Name] = true
		var eps []string
		for _, a := range addrs {
			ep := c.AddChain(regularChain(epChainName(name, p, a)))
			c.FlushChain(ep)
			c.AddRule(epRule(ep, p, a))
			want[ep.Name] = true
			eps = append(eps, ep.Name)
		}
		if err := spread(c, svc, eps); err != nil {
			return err
		}
		if err := c.SetAddElements(m, []nftables.SetElement{{Key: dispatchKey(p),
			VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: svc.Name}}}); err != nil {
			return err
		}
	}
	return dropService(c, name, want, have)
}

// spread fills a service chain: round-robin (numgen) over the endpoint chains eps, then a
// plain goto the first endpoint, which no packet reaches while the rules stand still.
//
// It is there for a packet that races the transaction replacing this chain. nft_do_chain
// picks the generation of the rules once, when the packet enters the base chain, but a set
// lookup checks its elements against the generation current at the time of the lookup, and
// a transaction that deletes the rule owning an anonymous map deactivates the map's elements
// with it. A packet that entered before the commit and looks up after it runs the old rule
// against an old map that has no element left: no verdict, the chain falls through, the
// NAT hook gives the flow a null binding, and the connection goes to the host's own port,
// where nothing listens: refused (seen as a reset, or an empty answer, by a client of
// hull-relay during a rolling update). With the fallback such a packet goes to an endpoint
// of the old generation instead, as it would have a moment earlier.
func spread(c *nftables.Conn, svc *nftables.Chain, eps []string) error {
	{
		switch len(eps) {
		case 0:
			// No endpoint: the packet goes on to the host, where nothing listens, and is
			// refused (TCP reset, ICMP port unreachable), as with no service at all.
		case 1:
			c.AddRule(&nftables.Rule{Table: hullTable, Chain: svc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictGoto, Chain: eps[0]}}})
		default:
			vmap := &nftables.Set{Table: hullTable, Anonymous: true, Constant: true, IsMap: true,
				KeyType: nftables.TypeInteger, DataType: nftables.TypeVerdict}
			var elems []nftables.SetElement
			for i, ep := range eps {
				elems = append(elems, nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(i)),
					VerdictData: &expr.Verdict{Kind: expr.VerdictGoto, Chain: ep}})
			}
			if err := c.AddSet(vmap, elems); err != nil {
				return err
			}
			c.AddRule(&nftables.Rule{Table: hullTable, Chain: svc, Exprs: []expr.Any{
				&expr.Numgen{Register: 1, Modulus: uint32(len(eps)), Type: unix.NFT_NG_INCREMENTAL},
				&expr.Lookup{SourceRegister: 1, SetName: vmap.Name, SetID: vmap.ID, DestRegister: 0, IsDestRegSet: true},
			}})
			c.AddRule(&nftables.Rule{Table: hullTable, Chain: svc, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictGoto, Chain: eps[0]}}})
		}
	}
	return nil
}

// dropService queues the deletion of what service name had (have) and no longer has (want).
func dropService(c *nftables.Conn, name string, want map[string]bool, have []string) error {
	m := servicesMap()
	// What the service had and no longer has: dispatch elements first (they reference the
	// svc chains), then svc chains (they reference ep chains), then ep chains.
	var drop []string
	for _, ch := range have {
		if want[ch] {
			continue
		}
		if p, ok := parseSvcChain(name, ch); ok {
			if err := c.SetDeleteElements(m, []nftables.SetElement{{Key: dispatchKey(p)}}); err != nil {
				return err
			}
		}
		drop = append(drop, ch)
	}
	for _, prefix := range []string{svcPrefix, epPrefix} {
		for _, ch := range drop {
			if strings.HasPrefix(ch, prefix) {
				c.FlushChain(regularChain(ch))
				c.DelChain(regularChain(ch))
			}
		}
	}
	return nil
}

// parseSvcChain reads the port back from a service chain's name "svc/NAME/PROTO/PORT".
func parseSvcChain(name, ch string) (Port, bool) {
	rest, ok := strings.CutPrefix(ch, svcPrefix+name+"/")
	if !ok {
		return Port{}, false
	}
	proto, port, ok := strings.Cut(rest, "/")
	n, err := parsePortNum(port)
	if !ok || err != nil {
		return Port{}, false
	}
	return Port{Proto: proto, HostPort: n}, true
}

// serviceChains lists the chains of hull's table that belong to service name, or to every
// service when name is "".
func serviceChains(c *nftables.Conn, name string) ([]string, error) {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("nftables list chains: %w", err)
	}
	var out []string
	for _, ch := range chains {
		if ch.Table.Name != tableName {
			continue
		}
		for _, prefix := range []string{svcPrefix, epPrefix} {
			if name == "" && strings.HasPrefix(ch.Name, prefix) || name != "" && strings.HasPrefix(ch.Name, prefix+name+"/") {
				out = append(out, ch.Name)
			}
		}
	}
	return out, nil
}

// chainService is the service a chain of serviceChains belongs to.
func chainService(ch string) string {
	for _, prefix := range []string{svcPrefix, epPrefix} {
		if rest, ok := strings.CutPrefix(ch, prefix); ok {
			name, _, _ := strings.Cut(rest, "/")
			return name
		}
	}
	return ""
}

// nftService brings service name's rules in line with ports × addrs in one transaction;
// with no ports it removes them.
func (s *Store) nftService(name string, ports []Port, addrs []netip.Addr, vip, oldVIP netip.Addr) error {
	c, err := s.nftConn()
	if err != nil {
		return err
	}
	have, err := serviceChains(c, name)
	if err != nil {
		return err
	}
	if len(ports) == 0 && !vip.IsValid() && !oldVIP.IsValid() && len(have) == 0 {
		return nil
	}
	start := time.Now()
	if err := applyService(c, name, ports, addrs, vip, oldVIP, have); err != nil {
		return fmt.Errorf("nftables service %s: %w", name, err)
	}
	err = c.Flush()
	args := fmt.Sprintf("nft -f - (service %s: ports %v, vip %v → endpoints %v, one transaction)", name, ports, vip, addrs)
	s.rec.Step("nftables", args, err, time.Since(start))
	if err != nil {
		return fmt.Errorf("nftables service %s: %w", name, err)
	}
	return nil
}
