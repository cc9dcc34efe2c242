package netns

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// hull's nftables table, "inet hull". It is hull's alone: hull never edits another table,
// and deleting it removes everything hull added to the firewall.
//
//	table inet hull {
//		chain postrouting {	# type nat hook postrouting priority srcnat
//			ip saddr 10.88.0.0/24 oifname != "hull-web" masquerade			# per network
//			ip saddr 10.88.0.0/24 oifname "hull-web" ct status dnat masquerade	# per network: hairpin
//		}
//		chain forward {		# type filter hook forward priority filter; policy accept
//			iifname "hull-web" accept					# per network
//			oifname "hull-web" ct state established,related accept	# per network
//		}
//		map services, chain prerouting, chain output, chains svc/…, ep/…	# see svcnft.go
//	}
//
// Each network rule carries the user data "hull:net=<name>", which is how Remove and
// Reconcile find a network's rules again. The forward rules change nothing while the
// chain's policy is accept; they are where isolation between networks will hook in.

var hullTable = &nftables.Table{Family: nftables.TableFamilyINet, Name: tableName}

func postroutingChain() *nftables.Chain {
	return &nftables.Chain{
		Name: "postrouting", Table: hullTable, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource,
	}
}

func forwardChain() *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: "forward", Table: hullTable, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	}
}

func ruleTag(network string) []byte { return []byte("hull:net=" + network) }

// networkRules is the pure data of a network's rules; nftEnsure sends it to the kernel.
func networkRules(n Network) []*nftables.Rule {
	tag := ruleTag(n.Name)
	post, fwd := postroutingChain(), forwardChain()
	return []*nftables.Rule{
		{Table: hullTable, Chain: post, UserData: tag, Exprs: masqueradeExprs(n)},
		{Table: hullTable, Chain: post, UserData: tag, Exprs: hairpinExprs(n)},
		{Table: hullTable, Chain: fwd, UserData: tag, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			ifnameCmp(expr.CmpOpEq, n.Bridge),
			&expr.Verdict{Kind: expr.VerdictAccept},
		}},
		{Table: hullTable, Chain: fwd, UserData: tag, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			ifnameCmp(expr.CmpOpEq, n.Bridge),
			&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitESTABLISHED | expr.CtStateBitRELATED),
				Xor:  binaryutil.NativeEndian.PutUint32(0)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
			&expr.Verdict{Kind: expr.VerdictAccept},
		}},
	}
}

// masqueradeExprs: meta nfproto ipv4 ip saddr SUBNET oifname != BRIDGE masquerade.
// Traffic between containers of the network keeps its source; everything leaving through
// another interface leaves with that interface's address.
func masqueradeExprs(n Network) []expr.Any {
	m := make([]byte, 4)
	for i := 0; i < n.Subnet.Bits(); i++ {
		m[i/8] |= 0x80 >> (i % 8)
	}
	net4 := n.Subnet.Addr().As4()
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.NFPROTO_IPV4}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: m, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net4[:]},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		ifnameCmp(expr.CmpOpNeq, n.Bridge),
		&expr.Masq{},
	}
}

// hairpinExprs: meta nfproto ipv4 ip saddr SUBNET oifname BRIDGE ct status dnat masquerade.
// A container reaching a published port whose endpoint is on its own network (itself, or
// a neighbour) was DNAT'd on its way through the host and goes back out the bridge; the
// endpoint would answer it directly over the bridge, bypassing the un-NAT, and the client
// would drop a reply from an address it never called. With the gateway as source the
// reply comes back through the host. This works whether or not br_netfilter is loaded
// (with it, the bridge would un-NAT by itself, but it is a module, and a global switch).
// The price: the endpoint sees such clients as the gateway, not by their own address.
func hairpinExprs(n Network) []expr.Any {
	e := masqueradeExprs(n)
	e = e[:len(e)-1] // all but masq
	e[6] = ifnameCmp(expr.CmpOpEq, n.Bridge)
	return append(e,
		&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT),
			Xor:  binaryutil.NativeEndian.PutUint32(0)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(0)},
		&expr.Masq{},
	)
}

// ifnameCmp compares register 1, where a meta expression loaded iifname or oifname, with
// name, NUL-padded to IFNAMSIZ as the nft CLI does.
func ifnameCmp(op expr.CmpOp, name string) expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return &expr.Cmp{Op: op, Register: 1, Data: b}
}

// nftConn opens a netlink connection to nf_tables in the store's host namespace.
func (s *Store) nftConn() (*nftables.Conn, error) {
	c, err := nftables.New(nftables.WithNetNSFd(int(s.hostNS)))
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	return c, nil
}

// nftEnsure makes the table and chains exist and replaces network n's rules with fresh
// ones, in one transaction after the table exists.
func (s *Store) nftEnsure(n Network) error {
	c, err := s.nftConn()
	if err != nil {
		return err
	}
	start := time.Now()
	c.AddTable(hullTable)
	post, fwd := c.AddChain(postroutingChain()), c.AddChain(forwardChain())
	pre, out := c.AddChain(preroutingChain()), c.AddChain(outputChain())
	if err := c.AddSet(servicesMap(), nil); err != nil {
		return err
	}
	if err := c.AddSet(vipsMap(), nil); err != nil {
		return err
	}
	err = c.Flush()
	s.rec.Step("nftables", "nft add table inet hull; add chain inet hull postrouting|forward|prerouting|output; add map inet hull services", err, time.Since(start))
	if err != nil {
		return fmt.Errorf("nftables add table inet %s: %w", tableName, err)
	}
	start = time.Now()
	if err := s.nftDelTagged(c, n.Name, post, fwd); err != nil {
		return err
	}
	if err := s.nftDelTagged(c, "", pre, out); err != nil {
		return err
	}
	for _, r := range append(networkRules(n), dispatchRules()...) {
		c.AddRule(r)
	}
	err = c.Flush()
	s.rec.Step("nftables", fmt.Sprintf("nft add rule inet hull postrouting ip saddr %v oifname != %s masquerade; add rule inet hull forward iifname %s accept; ...", n.Subnet, n.Bridge, n.Bridge), err, time.Since(start))
	if err != nil {
		return fmt.Errorf("nftables rules for network %s: %w", n.Name, err)
	}
	return nil
}

// nftDelTagged queues the deletion of network's rules in the given chains, or of the
// dispatch rules when network is "".
func (s *Store) nftDelTagged(c *nftables.Conn, network string, chains ...*nftables.Chain) error {
	tag := ruleTag(network)
	if network == "" {
		tag = []byte(dispatchTag)
	}
	for _, ch := range chains {
		rules, err := c.GetRules(hullTable, ch)
		if err != nil {
			return fmt.Errorf("nftables list chain inet %s %s: %w", tableName, ch.Name, err)
		}
		for _, r := range rules {
			if bytes.Equal(r.UserData, tag) {
				if err := c.DelRule(r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// nftRemove deletes network's rules, or the whole table when last is true.
func (s *Store) nftRemove(network string, last bool) error {
	c, err := s.nftConn()
	if err != nil {
		return err
	}
	if _, err := c.ListTableOfFamily(tableName, nftables.TableFamilyINet); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // nothing of ours in the firewall
		}
		return fmt.Errorf("nftables list table inet %s: %w", tableName, err)
	}
	start := time.Now()
	args := "nft delete table inet hull"
	if last {
		c.DelTable(hullTable)
	} else {
		args = "nft delete rule inet hull ... (the rules of network " + network + ")"
		if err := s.nftDelTagged(c, network, postroutingChain(), forwardChain()); err != nil {
			return err
		}
	}
	err = c.Flush()
	s.rec.Step("nftables", args, err, time.Since(start))
	if err != nil {
		return fmt.Errorf("%s: %w", args, err)
	}
	return nil
}

// ipsDstNAT is IPS_DST_NAT of linux/netfilter/nf_conntrack_common.h: the flow's
// destination was rewritten ("ct status dnat").
const ipsDstNAT = 1 << 5
