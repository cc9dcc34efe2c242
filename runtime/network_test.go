//go:build !hulllean

package runtime

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckNetwork(t *testing.T) {
	withNet := func(ann map[string]string) *specs.Spec {
		return &specs.Spec{Annotations: ann, Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace}}}}
	}
	for _, c := range []struct {
		name  string
		spec  *specs.Spec
		o     CreateOptions
		ports int
		err   string
	}{
		{"nothing", withNet(nil), CreateOptions{}, 0, ""},
		{"annotations", withNet(map[string]string{NetworkAnnotation: "n", PublishAnnotation: "80,53/udp"}), CreateOptions{}, 2, ""},
		{"flags", withNet(nil), CreateOptions{Network: "n", Publish: "8080:80"}, 1, ""},
		{"flag overrides annotation", withNet(map[string]string{NetworkAnnotation: "n", PublishAnnotation: "bad"}), CreateOptions{Publish: "1"}, 1, ""},
		{"publish without network", withNet(map[string]string{PublishAnnotation: "80"}), CreateOptions{}, 0, "needs a network"},
		{"bad ports", withNet(nil), CreateOptions{Network: "n", Publish: "80:0"}, 0, "1-65535"},
		{"host netns", &specs.Spec{Linux: &specs.Linux{}}, CreateOptions{Network: "n"}, 0, "new network namespace"},
		{"joined netns", &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"}}}}, CreateOptions{Network: "n"}, 0, "new network namespace"},
	} {
		ports, err := checkNetwork(c.spec, c.o)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || len(ports) != c.ports {
			t.Errorf("%s: %v, %v; want %d ports", c.name, ports, err, c.ports)
		}
	}
}

func TestServiceName(t *testing.T) {
	if got := ServiceName("web-1"); got != "ctr-web-1" {
		t.Errorf("ServiceName(web-1) = %q", got)
	}
	for _, id := range []string{"a+b", strings.Repeat("x", 100)} {
		got := ServiceName(id)
		if !serviceNameRE().MatchString(got) || got == ServiceName(id+"y") {
			t.Errorf("ServiceName(%q) = %q", id, got)
		}
	}
}
