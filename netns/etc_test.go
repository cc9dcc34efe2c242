package netns

import (
	"net/netip"
	"strings"
	"testing"
)

func TestResolvConf(t *testing.T) {
	for _, c := range []struct {
		name, host, resolved string
		want, notWant        []string
	}{
		{"plain", "nameserver 192.0.2.53\nsearch example.org\noptions ndots:2\n", "",
			[]string{"nameserver 192.0.2.53", "search example.org", "options ndots:2"}, []string{"8.8.8.8"}},
		{"loopback dropped, others kept", "nameserver 127.0.0.1\nnameserver 192.0.2.53\nnameserver ::1\n", "",
			[]string{"nameserver 192.0.2.53"}, []string{"127.0.0.1", "::1", "8.8.8.8"}},
		{"systemd-resolved stub → its upstreams", "nameserver 127.0.0.53\nsearch lan\n", "nameserver 192.0.2.1\nnameserver 127.0.0.1\n",
			[]string{"nameserver 192.0.2.1", "search lan"}, []string{"127.0.0.53", "127.0.0.1\n", "8.8.8.8"}},
		{"nothing usable → public", "nameserver 127.0.0.53\n", "",
			[]string{"nameserver 8.8.8.8", "nameserver 8.8.4.4"}, nil},
		{"junk", "nameserver\nnameserver not-an-ip\n# comment\n", "",
			[]string{"nameserver 8.8.8.8"}, []string{"not-an-ip", "comment"}},
	} {
		got := string(ResolvConf([]byte(c.host), []byte(c.resolved)))
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
		for _, w := range c.notWant {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q has %q", c.name, got, w)
			}
		}
	}
}

func TestHostsFile(t *testing.T) {
	a := netip.MustParseAddr("10.88.0.5")
	if got := string(HostsFile("web-1", a)); !strings.Contains(got, "10.88.0.5\tweb-1\n") || !strings.Contains(got, "127.0.0.1\tlocalhost") {
		t.Errorf("HostsFile: %q", got)
	}
	for _, bad := range []string{"", "a b", "x\n1.2.3.4 evil", "-a", strings.Repeat("a", 64)} {
		if got := string(HostsFile(bad, a)); strings.Contains(got, "10.88.0.5") {
			t.Errorf("HostsFile(%q) wrote the address line: %q", bad, got)
		}
	}
}
