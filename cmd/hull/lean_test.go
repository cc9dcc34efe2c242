package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The lean hull (tag hulllean, `make build`'s bin/hull) must stay lean: every package it
// links runs its initialisers on every call podman or containerd makes.
func TestLeanDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-e", "-deps", "-tags", "hulllean", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	for _, want := range []string{"github.com/hullrt/hull/runtime", "github.com/hullrt/hull/cgroups", "github.com/hullrt/hull/runtime/specjson"} {
		if !slices.Contains(deps, want) {
			t.Errorf("the lean hull does not link %s: is the list right?", want)
		}
	}
	for _, d := range deps {
		for _, f := range []string{
			"github.com/hullrt/hull/netns", "github.com/hullrt/hull/rootfs/image", "github.com/hullrt/hull/supervisor",
			"github.com/google/nftables", "github.com/vishvananda/", "github.com/google/go-containerregistry",
			"github.com/compose-spec/", "github.com/klauspost/", "go.etcd.io/bbolt", "net/http",
		} {
			if strings.HasPrefix(d, f) {
				t.Errorf("the lean hull links %s (forbidden: %s)", d, f)
			}
		}
	}
	t.Logf("the lean hull links %d packages", len(deps))
}
