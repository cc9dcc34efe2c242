package netns

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables/expr"
)

func TestParseSubnet(t *testing.T) {
	for _, tc := range []struct{ in, gw, bcast, err string }{
		{"10.88.0.0/24", "10.88.0.1", "10.88.0.255", ""},
		{"172.20.0.0/16", "172.20.0.1", "172.20.255.255", ""},
		{"192.168.7.8/30", "192.168.7.9", "192.168.7.11", ""},
		{"10.88.0.5/24", "", "", "host bits set, did you mean 10.88.0.0/24"},
		{"10.0.0.0/31", "", "", "between /8 and /30"},
		{"10.0.0.0/7", "", "", "between /8 and /30"},
		{"fd00::/64", "", "", "only IPv4"},
		{"10.0.0.0", "", "", "no '/'"},
	} {
		p, err := ParseSubnet(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSubnet(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSubnet(%q): %v", tc.in, err)
			continue
		}
		if g, b := gatewayOf(p).String(), broadcastOf(p).String(); g != tc.gw || b != tc.bcast {
			t.Errorf("%s: gateway %s broadcast %s, want %s %s", tc.in, g, b, tc.gw, tc.bcast)
		}
	}
}

func TestNames(t *testing.T) {
	if got := bridgeName("web"); got != "hull-web" {
		t.Errorf("bridgeName(web) = %q", got)
	}
	long := bridgeName("a-rather-long-network-name")
	if len(long) > ifNameMax || !strings.HasPrefix(long, "hull-") || long == bridgeName("a-rather-long-network-name2") {
		t.Errorf("bridgeName(long) = %q", long)
	}
	v := vethName("web", "c1")
	if len(v) != ifNameMax || v != vethName("web", "c1") || v == vethName("web", "c2") || v == vethName("db", "c1") {
		t.Errorf("vethName = %q: want 15 characters, stable, distinct per network and container", v)
	}
	for _, bad := range []string{"", "-x", "a/b", "a b", strings.Repeat("x", 65)} {
		if validName("network", bad) == nil {
			t.Errorf("validName(%q) accepted", bad)
		}
	}
}

func TestPickSubnet(t *testing.T) {
	taken := []netip.Prefix{netip.MustParsePrefix("10.88.0.0/23"), netip.MustParsePrefix("10.88.3.0/24")}
	if p, err := pickSubnet(taken); err != nil || p != netip.MustParsePrefix("10.88.2.0/24") {
		t.Fatalf("pickSubnet = %v, %v", p, err)
	}
	if _, err := pickSubnet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}); err == nil {
		t.Fatal("pickSubnet found room in a full pool")
	}
}

func TestNetworkRules(t *testing.T) {
	n := Network{Name: "web", Bridge: "hull-web", Subnet: netip.MustParsePrefix("10.88.4.0/22"), Gateway: netip.MustParseAddr("10.88.4.1")}
	rules := networkRules(n)
	if len(rules) != 4 {
		t.Fatalf("%d rules, want 4", len(rules))
	}
	for _, r := range rules {
		if string(r.UserData) != "hull:net=web" || r.Table.Name != "hull" {
			t.Errorf("rule in %s/%s tagged %q", r.Table.Name, r.Chain.Name, r.UserData)
		}
	}
	masq := rules[0]
	if masq.Chain.Name != "postrouting" {
		t.Fatalf("first rule in chain %s", masq.Chain.Name)
	}
	var sawMask, sawNet, sawIfname, sawMasq bool
	for _, e := range masq.Exprs {
		switch e := e.(type) {
		case *expr.Bitwise:
			sawMask = bytes.Equal(e.Mask, []byte{255, 255, 252, 0})
		case *expr.Cmp:
			switch {
			case bytes.Equal(e.Data, []byte{10, 88, 4, 0}):
				sawNet = e.Op == expr.CmpOpEq
			case len(e.Data) == 16 && bytes.HasPrefix(e.Data, []byte("hull-web\x00")):
				sawIfname = e.Op == expr.CmpOpNeq
			}
		case *expr.Masq:
			sawMasq = true
		}
	}
	if !sawMask || !sawNet || !sawIfname || !sawMasq {
		t.Errorf("masquerade rule: mask %v net %v oifname!= %v masq %v", sawMask, sawNet, sawIfname, sawMasq)
	}
	hairpin := rules[1]
	var sawEq, sawCt, sawHairpinMasq bool
	for _, e := range hairpin.Exprs {
		switch e := e.(type) {
		case *expr.Cmp:
			sawEq = sawEq || len(e.Data) == 16 && bytes.HasPrefix(e.Data, []byte("hull-web\x00")) && e.Op == expr.CmpOpEq
		case *expr.Ct:
			sawCt = e.Key == expr.CtKeySTATUS
		case *expr.Masq:
			sawHairpinMasq = true
		}
	}
	if hairpin.Chain.Name != "postrouting" || !sawEq || !sawCt || !sawHairpinMasq {
		t.Errorf("hairpin rule: chain %s oifname== %v ct status %v masq %v", hairpin.Chain.Name, sawEq, sawCt, sawHairpinMasq)
	}
	for _, r := range rules[2:] {
		if r.Chain.Name != "forward" {
			t.Errorf("rule in chain %s, want forward", r.Chain.Name)
		}
		if v, ok := r.Exprs[len(r.Exprs)-1].(*expr.Verdict); !ok || v.Kind != expr.VerdictAccept {
			t.Errorf("forward rule does not end in accept: %#v", r.Exprs[len(r.Exprs)-1])
		}
	}
}
