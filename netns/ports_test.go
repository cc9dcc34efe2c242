package netns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestParsePorts(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []Port
		err  string
	}{
		{"8080:80", []Port{{"tcp", 8080, 80}}, ""},
		{"8080:80/tcp, 5353:53/udp", []Port{{"tcp", 8080, 80}, {"udp", 5353, 53}}, ""},
		{"53/udp", []Port{{"udp", 53, 53}}, ""},
		{"80,443", []Port{{"tcp", 80, 80}, {"tcp", 443, 443}}, ""},
		{"80/tcp,80/udp", []Port{{"tcp", 80, 80}, {"udp", 80, 80}}, ""},
		{"", nil, ""},
		{"80:80,80:81", nil, "published twice"},
		{"0:80", nil, "1-65535"},
		{"65536:80", nil, "1-65535"},
		{"80:+80", nil, "1-65535"},
		{"-1", nil, "1-65535"},
		{"80/sctp", nil, "want tcp or udp"},
		{"a:b", nil, "HOST:CONTAINER"},
		{"1.2.3.4:80:80", nil, "HOST:CONTAINER"},
	} {
		got, err := ParsePorts(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParsePorts(%q) = %v, %v; want error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParsePorts(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// FuzzParsePorts: the annotation is untrusted; whatever it holds, ParsePorts either refuses
// it or returns ports that checkPorts accepts and that print back to an equivalent list.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"8080:80", "53/udp,80", "1:65535/tcp", ",,", "80:80/", ":"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePorts(s)
		if err != nil {
			return
		}
		if err := checkPorts(ps); err != nil {
			t.Fatalf("ParsePorts(%q) returned ports checkPorts refuses: %v", s, err)
		}
		var parts []string
		for _, p := range ps {
			parts = append(parts, p.String())
		}
		again, err := ParsePorts(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, ps) {
			t.Fatalf("round trip of %q: %v, %v; want %v", s, again, err, ps)
		}
	})
}

func TestServiceChainNames(t *testing.T) {
	p := Port{"udp", 5353, 53}
	svc := svcChainName("web", p)
	if svc != "svc/web/udp/5353" {
		t.Fatalf("svc chain %q", svc)
	}
	if got, ok := parseSvcChain("web", svc); !ok || got.Proto != "udp" || got.HostPort != 5353 {
		t.Fatalf("parseSvcChain(%q) = %v, %v", svc, got, ok)
	}
	if _, ok := parseSvcChain("we", svc); ok {
		t.Fatal("parseSvcChain matched another service's chain")
	}
	ep := epChainName("web", p, netip.MustParseAddr("10.88.0.2"))
	if ep != "ep/web/udp/5353/10.88.0.2" || chainService(ep) != "web" || chainService(svc) != "web" {
		t.Fatalf("ep chain %q, services %q %q", ep, chainService(ep), chainService(svc))
	}
	if k := dispatchKey(p); !slices.Equal(k, []byte{17, 0, 0, 0, 0x14, 0xe9, 0, 0}) {
		t.Fatalf("dispatch key % x", k)
	}
}

func TestCheckService(t *testing.T) {
	n := Network{Name: "n", Subnet: netip.MustParsePrefix("10.88.0.0/24"), Gateway: netip.MustParseAddr("10.88.0.1")}
	ep := func(a string) Endpoint { return Endpoint{ID: a, Addr: netip.MustParseAddr(a)} }
	ok := Service{Name: "web", Network: "n", Ports: []Port{{"tcp", 80, 80}}, Endpoints: []Endpoint{ep("10.88.0.2"), ep("10.88.0.3")}}
	if err := checkService(ok, n); err != nil {
		t.Fatal(err)
	}
	for _, eps := range [][]Endpoint{{ep("10.88.0.1")}, {ep("10.89.0.2")}, {ep("10.88.0.2"), ep("10.88.0.2")}} {
		bad := ok
		bad.Endpoints = eps
		if err := checkService(bad, n); err == nil {
			t.Errorf("checkService accepted endpoints %v", eps)
		}
	}
}

func TestGone(t *testing.T) {
	a, b, c := Endpoint{"a", netip.MustParseAddr("10.0.0.2")}, Endpoint{"b", netip.MustParseAddr("10.0.0.3")}, Endpoint{"c", netip.MustParseAddr("10.0.0.4")}
	if got := gone([]Endpoint{a, b}, []Endpoint{b, c}); !slices.Equal(got, []Endpoint{a}) {
		t.Fatalf("gone = %v", got)
	}
	if got := gonePorts([]Port{{"tcp", 1, 1}, {"udp", 1, 1}}, []Port{{"tcp", 1, 2}}); !slices.Equal(got, []Port{{"udp", 1, 1}}) {
		t.Fatalf("gonePorts = %v", got)
	}
}
