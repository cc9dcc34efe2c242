package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLeanDependencies keeps the init lean: every container start runs the package
// initialisers of everything hull-init links (≈1.2 ms of CPU for this list against ≈3.2 ms for
// all of hull's), so the heavy modules of the host side must never creep in through an import.
func TestLeanDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	// The scan must see what the init does link, or it proves nothing.
	for _, want := range []string{"github.com/hullrt/hull/runtime/initproc", "github.com/hullrt/hull/rootfs", "github.com/hullrt/hull/runtime/stub"} {
		if !slices.Contains(deps, want) {
			t.Errorf("hull-init does not link %s: is the list right?", want)
		}
	}
	forbidden := []string{
		"github.com/containerd/",     // cgroups/v3 and its protobuf types
		"google.golang.org/protobuf", // via containerd/cgroups
		"github.com/compose-spec/",   // the supervisor's stack files
		"github.com/google/go-containerregistry",
		"github.com/google/nftables",
		"github.com/vishvananda/",  // netlink
		"github.com/distribution/", // image references (regexps at init)
		"github.com/opencontainers/go-digest",
		"github.com/klauspost/",
		"go.etcd.io/bbolt",
		"log/slog",                       // the CLI's logger: the init only forwards steps
		"net/http",                       // its initialisers (easyjson's root package has it; specjson drops that)
		"github.com/hullrt/hull/cgroups", // exactly: the leaf with containerd; cgroups/v1thread is fine
		"github.com/hullrt/hull/netns",
		"github.com/hullrt/hull/rootfs/image",
		"github.com/hullrt/hull/supervisor",
		"github.com/hullrt/hull/runtime", // exactly: the host side
	}
	for _, d := range deps {
		for _, f := range forbidden {
			if d == f || (strings.HasSuffix(f, "/") || !strings.HasPrefix(f, "github.com/hullrt/")) && strings.HasPrefix(d, f) {
				t.Errorf("hull-init links %s (forbidden: %s)", d, f)
			}
		}
	}
	t.Logf("hull-init links %d packages", len(deps))
}
