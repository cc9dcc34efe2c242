//go:build integration

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// inHostNS runs hull inside a network namespace the test made, so bridges, veths and nftables
// rules never touch the machine's root namespace. nsenter joins only the network namespace:
// cgroup and state paths stay the host's.
type netHost struct {
	x      *h
	ns     string // /run/netns/<name>
	netDir string
}

func newNetHost(t *testing.T, x *h) *netHost {
	t.Helper()
	name := fmt.Sprintf("hulle2e-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	n := &netHost{x: x, ns: "/run/netns/" + name, netDir: filepath.Join(t.TempDir(), "networks")}
	t.Cleanup(func() {
		// Nothing of hull's may be left in the test host namespace: only lo.
		out, _ := exec.Command("ip", "netns", "exec", name, "ip", "-o", "link").Output()
		if links := strings.Count(string(out), "\n"); links != 1 {
			t.Errorf("links left in the test host namespace:\n%s", out)
		}
		if out, _ := exec.Command("ip", "netns", "exec", name, "nft", "list", "tables").Output(); strings.Contains(string(out), "hull") {
			t.Errorf("nftables table left: %s", out)
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
	})
	return n
}

func (n *netHost) hull(args ...string) result {
	n.x.t.Helper()
	cmd := exec.Command("nsenter", append([]string{"--net=" + n.ns, hullBin, "--root", n.x.root, "--network-dir", n.netDir}, args...)...)
	cmd.Dir = n.x.bundle
	return n.x.runCmd(cmd, nil, args) // files, not pipes: a created container keeps hull's stdout
}

func (n *netHost) ok(args ...string) string {
	n.x.t.Helper()
	r := n.hull(args...)
	if r.code != 0 {
		n.x.t.Fatalf("hull %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// TestNetworkAttach: two containers on a hull network get distinct addresses on eth0, reach
// each other and the gateway, and delete plus network rm leave nothing behind.
func TestNetworkAttach(t *testing.T) {
	x := newH(t, "sleep", "1000")
	n := newNetHost(t, x)
	n.ok("network", "create", "--subnet", "10.251.0.0/24", "e2e")
	x.spec.Annotations = map[string]string{"org.hullrt.network": "e2e"}
	x.writeSpec()
	for _, id := range []string{"a", "b"} {
		n.ok("create", "--bundle", x.bundle, id)
		n.ok("start", id)
	}
	addrA := n.ok("exec", "a", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'")
	addrB := n.ok("exec", "b", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}'")
	if !strings.HasPrefix(addrA, "10.251.0.") || !strings.HasPrefix(addrB, "10.251.0.") || addrA == addrB {
		t.Fatalf("addresses a=%q b=%q", addrA, addrB)
	}
	ipB := strings.Split(strings.TrimSpace(addrB), "/")[0]
	if r := n.hull("exec", "a", "ping", "-c", "1", "-W", "3", ipB); r.code != 0 {
		t.Fatalf("a cannot reach b at %s: %s %s", ipB, r.stdout, r.stderr)
	}
	if r := n.hull("exec", "b", "ping", "-c", "1", "-W", "3", "10.251.0.1"); r.code != 0 {
		t.Fatalf("b cannot reach the gateway: %s %s", r.stdout, r.stderr)
	}
	if r := n.hull("network", "rm", "e2e"); r.code == 0 {
		t.Fatal("network rm succeeded with containers attached")
	}
	n.ok("delete", "--force", "a", "b")
	if out := n.ok("network", "inspect", "e2e"); strings.Contains(out, `"containerID"`) {
		t.Fatalf("leases left after delete: %s", out)
	}
	n.ok("network", "rm", "e2e")
}

// TestNetworkRefusals: a missing network fails create and leaves nothing; the annotation
// without a new network namespace is refused.
func TestNetworkRefusals(t *testing.T) {
	x := newH(t, "sleep", "1000")
	n := newNetHost(t, x)
	x.spec.Annotations = map[string]string{"org.hullrt.network": "nosuch"}
	x.writeSpec()
	if r := n.hull("create", "--bundle", x.bundle, "c"); r.code == 0 || !strings.Contains(r.stderr, "nosuch") {
		t.Fatalf("create on a missing network: exit %d %q", r.code, r.stderr)
	}
	var nss []string
	for _, ns := range x.spec.Linux.Namespaces {
		if ns.Type != "network" {
			nss = append(nss, string(ns.Type))
		}
	}
	x.spec.Linux.Namespaces = x.spec.Linux.Namespaces[:0]
	for _, t := range nss {
		x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specNS(t))
	}
	x.writeSpec()
	if r := n.hull("create", "--bundle", x.bundle, "c"); r.code == 0 || !strings.Contains(r.stderr, "new network namespace") {
		t.Fatalf("annotation without a netns: exit %d %q", r.code, r.stderr)
	}
}

func specNS(t string) specs.LinuxNamespace {
	return specs.LinuxNamespace{Type: specs.LinuxNamespaceType(t)}
}
