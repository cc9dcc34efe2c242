package supervisor

import (
	"context"
	"testing"
)

// The README's example stack must stay a file hull accepts without a warning, with what the
// README promises: 3 replicas of web behind port 8080, probed.
func TestExampleStackLoads(t *testing.T) {
	p, warns, err := Load(context.Background(), LoadOptions{File: "../examples/web/compose.yaml", VolumesDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	if p.Name != "demo" || len(p.Services) != 1 {
		t.Fatalf("project %q with %d services, want demo with 1", p.Name, len(p.Services))
	}
	for _, s := range p.Services {
		if s.Name != "web" || s.Replicas != 3 || len(s.Ports) != 1 || s.Ports[0].Published != 8080 {
			t.Errorf("service %+v: want web, 3 replicas, port 8080", s)
		}
	}
}
