//go:build integration

package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
	// A host's loopback is up; a new namespace's is not.
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("ip link set lo up: %v %s", err, out)
	}
	t.Cleanup(func() {
		// Nothing of hull's may be left in the test host namespace: only lo.
		out, _ := exec.Command("ip", "netns", "exec", name, "ip", "-o", "link").Output()
		if links := strings.Count(string(out), "\n"); links != 1 {
			t.Errorf("links left in the test host namespace:\n%s", out)
		}
		if out, _ := exec.Command("ip", "netns", "exec", name, "nft", "list", "tables").Output(); strings.Contains(string(out), "hull") {
			t.Errorf("nftables table left: %s", out)
		}
		for _, pid := range relays(t, n.ns) {
			t.Errorf("hull-relay pid %d left in the test host namespace", pid)
			syscall.Kill(pid, syscall.SIGKILL) // in this test's own netns: ours
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

// sh runs a shell line on the machine, failing the test on error.
// Commands are split on "&&" and run straight, not through sh: busybox's sh (the VM lane's)
// prefers its own applets, and its ip knows no netns.
func sh(t *testing.T, line string) string {
	t.Helper()
	var all []byte
	for _, c := range strings.Split(line, "&&") {
		f := strings.Fields(c)
		out, err := exec.Command(f[0], f[1:]...).CombinedOutput()
		all = append(all, out...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.TrimSpace(c), err, out)
		}
	}
	return string(all)
}

// world adds another "host" wired to the test host namespace: host uplink 192.0.2.1/24,
// world 192.0.2.2/24. It returns the world's name for ip netns exec.
func (n *netHost) world(t *testing.T) string {
	t.Helper()
	host := filepath.Base(n.ns)
	w := host + "-w"
	sh(t, "ip netns add "+w)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", w).Run() })
	sh(t, fmt.Sprintf("ip -n %s link add uplink type veth peer name wan netns %s && ip -n %s addr add 192.0.2.1/24 dev uplink && ip -n %s link set uplink up && ip -n %s link set lo up", host, w, host, host, host))
	sh(t, fmt.Sprintf("ip -n %s addr add 192.0.2.2/24 dev wan && ip -n %s link set wan up && ip -n %s link set lo up", w, w, w))
	t.Cleanup(func() { exec.Command("ip", "-n", host, "link", "del", "uplink").Run() })
	return w
}

// wget fetches url from inside netns ns (empty: the test host namespace) with busybox.
func (n *netHost) wget(ns, url string) (string, error) {
	if ns == "" {
		ns = filepath.Base(n.ns)
	}
	// timeout, not wget -T, which segfaults in Debian's busybox 1.35.
	out, err := exec.Command("ip", "netns", "exec", ns, "timeout", "5", "busybox", "wget", "-qO-", url).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// TestNetworkPublish: `hull create --network --publish` on a read-only rootfs: the port is
// reached from another host, from the host by its address and by 127.0.0.1, and from the
// container itself; /etc/hosts, resolv.conf and hostname are hull's, bind-mounted, the rootfs
// untouched; delete takes the port, its rules and its relay away.
func TestNetworkPublish(t *testing.T) {
	x := newH(t, "httpd", "-f", "-p", "80", "-h", "/www")
	n := newNetHost(t, x)
	world := n.world(t)
	if err := os.MkdirAll(filepath.Join(x.bundle, "rootfs/www"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x.bundle, "rootfs/www/index.html"), []byte("hello from web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} { // the image's own: must stay
		if err := os.WriteFile(filepath.Join(x.bundle, "rootfs/etc", f), []byte("image's "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x.spec.Root.Readonly = true
	x.spec.Hostname = "web"
	x.writeSpec()
	n.ok("network", "create", "--subnet", "10.252.0.0/24", "pub")
	n.ok("create", "--bundle", x.bundle, "--network", "pub", "--publish", "8080:80", "web")
	n.ok("start", "web")
	for range 50 { // httpd binds a moment after start
		if _, err := n.wget(world, "http://192.0.2.1:8080/"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range []struct{ what, ns, url string }{
		{"another host", world, "http://192.0.2.1:8080/"},
		{"the host", "", "http://192.0.2.1:8080/"},
		{"the host by 127.0.0.1", "", "http://127.0.0.1:8080/"},
	} {
		if got, err := n.wget(c.ns, c.url); err != nil || got != "hello from web" {
			t.Errorf("from %s, %s: %q %v", c.what, c.url, got, err)
		}
	}
	if r := n.hull("exec", "web", "timeout", "5", "wget", "-qO-", "http://10.252.0.1:8080/"); r.code != 0 || strings.TrimSpace(r.stdout) != "hello from web" {
		t.Errorf("hairpin: %q %q", r.stdout, r.stderr)
	}
	hosts := n.ok("exec", "web", "cat", "/etc/hosts")
	if !strings.Contains(hosts, "10.252.0.2\tweb") || !strings.Contains(hosts, "localhost") {
		t.Errorf("/etc/hosts in the container: %q", hosts)
	}
	resolv := n.ok("exec", "web", "cat", "/etc/resolv.conf")
	if !strings.Contains(resolv, "nameserver ") || strings.Contains(resolv, "nameserver 127.") {
		t.Errorf("/etc/resolv.conf in the container: %q", resolv)
	}
	if h := n.ok("exec", "web", "cat", "/etc/hostname"); h != "web\n" {
		t.Errorf("/etc/hostname in the container: %q", h)
	}
	for _, f := range []string{"hosts", "resolv.conf", "hostname"} {
		if b, _ := os.ReadFile(filepath.Join(x.bundle, "rootfs/etc", f)); string(b) != "image's "+f+"\n" {
			t.Errorf("rootfs /etc/%s changed: %q", f, b)
		}
	}
	if r := n.hull("create", "--bundle", x.bundle, "--network", "pub", "--publish", "8080:80", "clash"); r.code == 0 || !strings.Contains(r.stderr, "8080/tcp") {
		t.Errorf("a second container on the same host port: exit %d %q", r.code, r.stderr)
	}
	n.ok("delete", "--force", "web")
	if got, err := n.wget("", "http://127.0.0.1:8080/"); err == nil {
		t.Errorf("127.0.0.1:8080 still answers after delete: %q", got)
	}
	if got, err := n.wget(world, "http://192.0.2.1:8080/"); err == nil {
		t.Errorf("192.0.2.1:8080 still answers after delete: %q", got)
	}
	if out := sh(t, "ip netns exec "+filepath.Base(n.ns)+" nft list table inet hull"); strings.Contains(out, "svc/") || strings.Contains(out, "ep/") {
		t.Errorf("service chains left after delete:\n%s", out)
	}
	if out := n.ok("network", "inspect", "pub"); strings.Contains(out, `"containerID"`) {
		t.Errorf("leases left: %s", out)
	}
	n.ok("network", "rm", "pub")
}

// TestNetworkPublishRefusals: bad --publish input fails create with one line and leaves no
// container, lease or rule behind.
func TestNetworkPublishRefusals(t *testing.T) {
	x := newH(t, "sleep", "1000")
	n := newNetHost(t, x)
	x.writeSpec()
	n.ok("network", "create", "--subnet", "10.253.0.0/24", "pub")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--publish", "8080:80"}, "needs a network"},
		{[]string{"--network", "pub", "--publish", "99999:80"}, "1-65535"},
		{[]string{"--network", "pub", "--publish", "80/sctp"}, "tcp or udp"},
		{[]string{"--network", "pub", "--publish", "80,80"}, "twice"},
	} {
		r := n.hull(append(append([]string{"create", "--bundle", x.bundle}, c.args...), "bad")...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("create %v: exit %d, stderr %q; want one line with %q", c.args, r.code, r.stderr, c.want)
		}
	}
	if out := n.ok("list", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left: %q", out)
	}
	if out := n.ok("network", "inspect", "pub"); strings.Contains(out, `"containerID"`) {
		t.Errorf("leases left: %s", out)
	}
	n.ok("network", "rm", "pub")
}

// relays lists the hull-relay processes in the network namespace at path.
func relays(t *testing.T, path string) []int {
	t.Helper()
	var want, st syscall.Stat_t
	if err := syscall.Stat(path, &want); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); !strings.HasPrefix(string(b), "hull-relay\x00") {
			continue
		}
		if syscall.Stat(fmt.Sprintf("/proc/%d/ns/net", pid), &st) == nil && st.Ino == want.Ino && st.Dev == want.Dev {
			out = append(out, pid)
		}
	}
	return out
}

// createKilledAt runs hull --debug create with published ports and SIGKILLs it as soon as
// its trace shows a line containing step.
func (n *netHost) createKilledAt(t *testing.T, id, step string) {
	t.Helper()
	cmd := exec.Command("nsenter", "--net="+n.ns, hullBin, "--root", n.x.root, "--network-dir", n.netDir, "--debug",
		"create", "--bundle", n.x.bundle, "--network", "crash", "--publish", "8282:80,8282:80/udp", id)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	seen := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), step) {
			cmd.Process.Kill()
			seen = true
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if !seen {
		t.Fatalf("hull create %s never reported a step with %q", id, step)
	}
}

// checkNoNetworkLeft fails the test if network "crash" still has a lease, a service chain, a
// relay, or 127.0.0.1:8282 taken.
func (n *netHost) checkNoNetworkLeft(t *testing.T, when string) {
	t.Helper()
	if out := n.ok("network", "inspect", "crash"); strings.Contains(out, `"containerID"`) {
		t.Errorf("%s: leases left: %s", when, out)
	}
	if out := sh(t, "ip netns exec "+filepath.Base(n.ns)+" nft list table inet hull"); strings.Contains(out, "svc/") {
		t.Errorf("%s: service chains left:\n%s", when, out)
	}
	if out := sh(t, "ip -n "+filepath.Base(n.ns)+" -o link"); strings.Contains(out, " hv") {
		t.Errorf("%s: host veths left:\n%s", when, out)
	}
	if pids := relays(t, n.ns); len(pids) > 0 {
		t.Errorf("%s: hull-relay processes left: %v", when, pids)
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL) // in this test's own netns: ours
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", filepath.Base(n.ns), "busybox", "nc", "-z", "127.0.0.1", "8282").CombinedOutput(); err == nil {
		t.Errorf("%s: 127.0.0.1:8282 still answers %s", when, out)
	}
}

// TestNetworkCrash: hull create is killed with SIGKILL in the middle of wiring a container's
// network and ports (when --debug reports each of several steps). The container's init
// outlives hull, so the next `hull delete` of it must remove its lease, veth, rules and relay;
// and when the container is dead too, the next create on the network reclaims them by itself.
func TestNetworkCrash(t *testing.T) {
	x := newH(t, "sleep", "1000")
	n := newNetHost(t, x)
	x.writeSpec()
	n.ok("network", "create", "--subnet", "10.250.0.0/24", "crash")
	steps := []string{"ip link add hv", "addr add", "route add default", "nft -f - (service", "hull-relay"}
	for i, step := range steps {
		id := fmt.Sprintf("c%d", i)
		n.createKilledAt(t, id, step)
		// What the kill left, for the log: how far hull got varies with timing.
		insp := n.ok("network", "inspect", "crash")
		nft := sh(t, "ip netns exec "+filepath.Base(n.ns)+" nft list table inet hull")
		t.Logf("killed at %q: lease %v, service chains %v, relays %v", step,
			strings.Contains(insp, `"`+id+`"`), strings.Contains(nft, "svc/"), relays(t, n.ns))
		n.ok("delete", "--force", id)
		n.checkNoNetworkLeft(t, "delete after a kill at "+step)
	}
	// The container dies with hull: nobody deletes it, the next create must clean up.
	n.killDead(t, "dead")
	n.ok("create", "--bundle", x.bundle, "--network", "crash", "--publish", "8282:80,8282:80/udp", "next")
	out := n.ok("network", "inspect", "crash")
	if strings.Contains(out, `"dead"`) || !strings.Contains(out, `"next"`) {
		t.Errorf("after the next create, leases: %s", out)
	}
	n.ok("delete", "--force", "next", "dead")
	n.checkNoNetworkLeft(t, "after the next create")
	// And network rm, the other command that meets such leftovers, collects them too.
	n.killDead(t, "dead2")
	n.ok("network", "rm", "crash")
	n.ok("delete", "--force", "dead2")
}

// killDead leaves a container whose hull create was killed mid-publish and whose init died
// too: nobody will delete it before the next command runs.
func (n *netHost) killDead(t *testing.T, id string) {
	t.Helper()
	n.createKilledAt(t, id, "nft -f - (service")
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(n.ok("state", id)), &st); err != nil || st.Pid == 0 {
		t.Fatalf("state of the half-made container: %+v %v", st, err)
	}
	syscall.Kill(st.Pid, syscall.SIGKILL) // the container's init, started by this test's hull
	for range 100 {
		// Gone, or a zombie: its parent was the killed hull, and whoever inherits it may
		// reap it late; hull counts a zombie as dead.
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", st.Pid))
		if i := strings.LastIndexByte(string(b), ')'); err != nil || i > 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("init %d of %s did not die", st.Pid, id)
}

// TestNetworkConcurrentCreates: 50 `hull create`s on one network at once (50 processes, each
// running Collect before it attaches) give 50 containers 50 distinct addresses, read back
// from inside their namespaces; deleting them all leaves no lease.
func TestNetworkConcurrentCreates(t *testing.T) {
	x := newH(t, "sleep", "1000")
	n := newNetHost(t, x)
	x.writeSpec()
	n.ok("network", "create", "--subnet", "10.249.0.0/24", "many")
	const count = 50
	ids := make([]string, count)
	results := make([]result, count)
	var wg sync.WaitGroup
	// One bundle each, sharing the rootfs, so that each has a cgroup of its own.
	bundles := make([]string, count)
	for i := range count {
		ids[i] = fmt.Sprintf("m%d", i)
		spec := *x.spec
		linux := *spec.Linux
		linux.CgroupsPath = x.spec.Linux.CgroupsPath + "-" + ids[i]
		spec.Linux, spec.Root = &linux, &specs.Root{Path: filepath.Join(x.bundle, "rootfs")}
		bundles[i] = filepath.Join(t.TempDir(), ids[i])
		b, _ := json.Marshal(&spec)
		if err := os.MkdirAll(bundles[i], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bundles[i], "config.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = n.hull("create", "--bundle", bundles[i], "--network", "many", ids[i])
		}()
	}
	wg.Wait()
	t.Cleanup(func() { n.hull(append([]string{"delete", "--force"}, ids...)...) })
	seen := map[string]string{}
	for i, id := range ids {
		if results[i].code != 0 {
			t.Fatalf("create %s: %s", id, results[i].stderr)
		}
		var st struct{ Pid int }
		if err := json.Unmarshal([]byte(n.ok("state", id)), &st); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("nsenter", "-t", strconv.Itoa(st.Pid), "-n", "ip", "-4", "-o", "addr", "show", "eth0").CombinedOutput()
		if err != nil {
			t.Fatalf("address of %s: %v %s", id, err, out)
		}
		f := strings.Fields(string(out))
		if len(f) < 4 || !strings.HasPrefix(f[3], "10.249.0.") {
			t.Fatalf("address of %s: %q", id, out)
		}
		if other, dup := seen[f[3]]; dup {
			t.Fatalf("%s and %s both have %s", other, id, f[3])
		}
		seen[f[3]] = id
	}
	n.ok(append([]string{"delete", "--force"}, ids...)...)
	if out := n.ok("network", "inspect", "many"); strings.Contains(out, `"containerID"`) {
		t.Fatalf("leases left: %s", out)
	}
	n.ok("network", "rm", "many")
}
