//go:build integration

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNamespacesUTSAndPid(t *testing.T) {
	x := newH(t)
	x.spec.Hostname = "iso-host"
	x.spec.Domainname = "iso.example"
	out := x.sh("uts", `echo "== uts"; hostname; cat /proc/sys/kernel/domainname
echo "== pid"; echo $$; cat /proc/1/comm; ls /proc | grep -c '^[0-9]'`)
	if got := section(out, "uts"); len(got) != 2 || got[0] != "iso-host" || got[1] != "iso.example" {
		t.Errorf("hostname, domainname = %q, want iso-host, iso.example", got)
	}
	hn, _ := os.Hostname()
	if hn == "iso-host" {
		t.Errorf("the host's hostname changed to %q", hn)
	}
	got := section(out, "pid")
	if len(got) != 3 || got[0] != "1" || got[1] != "sh" {
		t.Errorf("pid section = %q, want pid 1 running sh -c", got)
	}
	// Visible: sh, and the ls and grep of the pipeline — nothing of the host.
	if len(got) == 3 && got[2] != "3" {
		t.Errorf("the container sees %s processes in /proc, want 3", got[2])
	}
}

func TestNamespacesNetOnlyLoopback(t *testing.T) {
	x := newH(t)
	out := x.sh("net", `tail -n +3 /proc/net/dev | cut -d: -f1; echo "== link"; ip link | grep -c '^[0-9]'`)
	var ifs []string
	for _, l := range lines(out) {
		if l == "== link" {
			break
		}
		ifs = append(ifs, l)
	}
	if len(ifs) != 1 || ifs[0] != "lo" {
		t.Errorf("interfaces in /proc/net/dev = %q, want only lo", ifs)
	}
	if got := section(out, "link"); len(got) != 1 || got[0] != "1" {
		t.Errorf("ip link shows %q links, want 1", got)
	}
}

func TestNamespacesDifferFromHost(t *testing.T) {
	x := newH(t)
	kinds := []string{"ipc", "uts", "mnt", "cgroup", "net", "pid"}
	script := ""
	for _, k := range kinds {
		script += "readlink /proc/self/ns/" + k + "; "
	}
	got := lines(x.sh("ns", script))
	if len(got) != len(kinds) {
		t.Fatalf("got %q, want %d namespace links", got, len(kinds))
	}
	for i, k := range kinds {
		host, err := os.Readlink("/proc/self/ns/" + k)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got[i], k+":[") {
			t.Errorf("%s: inside link %q is not a %s namespace", k, got[i], k)
		}
		if got[i] == host {
			t.Errorf("%s namespace %s is the host's", k, got[i])
		}
	}
}

// sleeper starts a process that holds namespaces for the test (killed by its pid in cleanup).
func sleeper(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// waitNsDiffers waits until the process's namespace of kind differs from ours (unshare has run).
func waitNsDiffers(t *testing.T, pid int, kind string) string {
	t.Helper()
	mine, _ := os.Readlink("/proc/self/ns/" + kind)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); err == nil && l != mine {
			return l
		}
	}
	t.Fatalf("process %d never left our %s namespace", pid, kind)
	return ""
}

func TestNamespacesJoinByPath(t *testing.T) {
	holder := sleeper(t, "unshare", "--net", "--uts", "sleep", "60")
	pid := holder.Process.Pid
	want := waitNsDiffers(t, pid, "net")
	x := newH(t)
	for i, ns := range x.spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			x.spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", pid)
		}
	}
	if got := strings.TrimSpace(x.sh("join", "readlink /proc/self/ns/net")); got != want {
		t.Errorf("container's net namespace = %q, want the joined %q", got, want)
	}

	t.Run("WrongType", func(t *testing.T) {
		x := newH(t, "true")
		for i, ns := range x.spec.Linux.Namespaces {
			if ns.Type == specs.UTSNamespace {
				// A network namespace given as the uts one: setns(2) with CLONE_NEWUTS refuses it.
				x.spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/net", pid)
			}
		}
		r := x.runContainer("wrongtype")
		if r.code == 0 {
			t.Fatalf("a net namespace joined as uts was accepted: %s", r.stdout)
		}
		t.Logf("refused: %s", strings.TrimSpace(r.stderr))
	})

	// Joining a pid namespace whose init is someone else's (the conformance suite's
	// linux_ns_path does this): the container's init is an ordinary member there, and its
	// parent, outside, is invisible to it (getppid() is 0).
	t.Run("Pid", func(t *testing.T) {
		holder := sleeper(t, "unshare", "--pid", "--fork", "--kill-child", "sleep", "60")
		want := waitNsDiffers(t, holder.Process.Pid, "pid_for_children")
		x := newH(t, "sleep", "1000")
		for i, ns := range x.spec.Linux.Namespaces {
			if ns.Type == specs.PIDNamespace {
				x.spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid_for_children", holder.Process.Pid)
			}
		}
		x.create("pidjoin")
		if got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", x.initPid("pidjoin"))); got != want {
			t.Errorf("container's pid namespace = %q, want the joined %q", got, want)
		}
		x.ok("start", "pidjoin")
		if st := x.state("pidjoin")["status"]; st != "running" {
			t.Errorf("status after start = %v, want running", st)
		}
		x.ok("delete", "--force", "pidjoin")
	})
}

func TestNamespacesUser(t *testing.T) {
	x := newH(t)
	x.mapUsers() // root is host 100000
	out := x.sh("userns", `echo "== uid_map"; cat /proc/self/uid_map; echo "== gid_map"; cat /proc/self/gid_map
echo "== id"; id -u; id -g; stat -c %u /bin/busybox; echo "== ns"; readlink /proc/self/ns/user`)
	for _, f := range []string{"uid_map", "gid_map"} {
		got := section(out, f)
		if len(got) != 1 || strings.Join(strings.Fields(got[0]), " ") != "0 100000 65536" {
			t.Errorf("%s inside = %q, want 0 100000 65536", f, got)
		}
	}
	if got := section(out, "id"); strings.Join(got, " ") != "0 0 0" {
		t.Errorf("uid, gid, owner of /bin/busybox = %q, want 0 0 0", got)
	}
	host0, _ := os.Readlink("/proc/self/ns/user")
	if got := section(out, "ns"); len(got) != 1 || got[0] == host0 {
		t.Errorf("user namespace inside = %q, host's %q", got, host0)
	}
}

// TestNamespacesNone: a spec without any namespace (runtime-tools' linux_ns_itype). The container
// inherits every namespace of the runtime, enters its rootfs with chroot, gets a /proc there (in
// the host's mount table: the stub needs it), and delete takes that mount away again (the leak
// check looks for it).
func TestNamespacesNone(t *testing.T) {
	x := newH(t, "sh", "-c", "readlink /proc/self/ns/mnt > /ns; readlink /proc/self/ns/pid >> /ns")
	x.spec.Hostname = ""
	x.spec.Linux.Namespaces = nil
	x.spec.Linux.MaskedPaths, x.spec.Linux.ReadonlyPaths = nil, nil
	x.create("nons")
	pid := x.initPid("nons")
	for _, k := range []string{"mnt", "pid", "net", "ipc", "uts", "cgroup"} {
		host, _ := os.Readlink("/proc/self/ns/" + k)
		if got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, k)); got != host {
			t.Errorf("%s namespace = %q, want the runtime's %q", k, got, host)
		}
	}
	x.ok("start", "nons")
	x.waitStopped("nons")
	mnt, _ := os.Readlink("/proc/self/ns/mnt")
	pidns, _ := os.Readlink("/proc/self/ns/pid")
	if got := lines(mustRead(t, filepath.Join(x.bundle, "rootfs", "ns"))); strings.Join(got, " ") != mnt+" "+pidns {
		t.Errorf("inside, /proc/self/ns shows %q, want %q %q", got, mnt, pidns)
	}
	x.ok("delete", "nons")

	t.Run("MaskedPathsRefused", func(t *testing.T) {
		x := newH(t, "true")
		x.spec.Hostname = ""
		x.spec.Linux.Namespaces = nil
		x.writeSpec()
		if r := x.run("create", "--bundle", x.bundle, "masked"); r.code == 0 || !strings.Contains(r.stderr, "mount namespace") {
			t.Fatalf("maskedPaths without a mount namespace: code %d stderr %q", r.code, r.stderr)
		}
	})
}

func TestNamespacesTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	x := newH(t)
	const offset = 10 * 86400
	x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	x.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: offset}, "monotonic": {Secs: offset}}
	out := x.sh("timens", "cut -d. -f1 /proc/uptime")
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	var inside, host int
	fmt.Sscan(strings.TrimSpace(out), &inside)
	fmt.Sscan(strings.Split(string(b), ".")[0], &host)
	if d := inside - host; d < offset-60 || d > offset+60 {
		t.Errorf("uptime inside %d s, host %d s: offset %d, want %d", inside, host, d, offset)
	}
}
