//go:build integration

package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// User namespaces joined by a process of hull's: `hull exec` into a container that has one, and
// `hull create` of a container that joins an existing one by path. A Go program cannot
// setns(2) into a user namespace, so both go through the C stub (runtime/spawn_enter.go,
// runtime/execin_userns.go).

const usernsHost = 100000 // the host uid and gid of the container's root

// mapUsers gives the container a new user namespace mapping 0-65535 to usernsHost..., and
// makes its rootfs belong to that root.
func (x *h) mapUsers() {
	x.t.Helper()
	x.ownRootfs()
	x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	x.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: usernsHost, Size: 65536}}
	x.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: usernsHost, Size: 65536}}
}

// ownRootfs gives the rootfs to the host ids of a mapped root, usernsHost.
func (x *h) ownRootfs() {
	x.t.Helper()
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", usernsHost, usernsHost), filepath.Join(x.bundle, "rootfs")).CombinedOutput(); err != nil {
		x.t.Fatalf("chown rootfs: %v %s", err, out)
	}
	// The mapped root must be able to walk to its rootfs: t.TempDir makes 0700 directories.
	for d := x.bundle; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			x.t.Fatal(err)
		}
	}
}

// joinUsers makes the container join the user namespace at path instead of making one.
func (x *h) joinUsers(path string) {
	x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: path})
	x.spec.Linux.UIDMappings, x.spec.Linux.GIDMappings = nil, nil
}

func nsLink(t *testing.T, pid int, kind string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestUsernsExec: an exec'd process is in the container's user namespace (the same inode as
// the init's, the same uid_map) as well as in all its other namespaces and cgroup, with the
// same confinement, and -u, --cwd and --env work in it.
func TestUsernsExec(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.mapUsers()
	initPid := x.running("ux")

	out := x.ok("exec", "ux", "sh", "-c", `echo "== id"; id -u; id -g; echo "== map"; cat /proc/self/uid_map /proc/self/gid_map; echo "== ns"; readlink /proc/self/ns/user`)
	if got := section(out, "id"); strings.Join(got, " ") != "0 0" {
		t.Errorf("uid, gid inside = %q, want 0 0", got)
	}
	if got := section(out, "map"); len(got) != 2 || oneLine(got[0]) != "0 100000 65536" || oneLine(got[1]) != "0 100000 65536" {
		t.Errorf("uid_map, gid_map = %q, want 0 100000 65536", got)
	}
	if got, want := section(out, "ns"), nsLink(t, initPid, "user"); len(got) != 1 || got[0] != want {
		t.Errorf("exec'd process's user namespace = %q, want the init's %q", got, want)
	}

	r := x.run("exec", "--user", "1000:1000", "--cwd", "/tmp", "--env", "FOO=bar", "ux", "sh", "-c", "id -u; id -g; pwd; echo $FOO; exit 7")
	if r.code != 7 || r.stdout != "1000\n1000\n/tmp\nbar\n" {
		t.Fatalf("exec -u -w --env: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	x.ok("exec", "--detach", "--pid-file", pidFile, "ux", "sleep", "1000")
	pid, err := strconv.Atoi(strings.TrimSpace(mustRead(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"user", "pid", "mnt", "uts", "ipc", "net", "cgroup"} {
		if a, e := nsLink(t, initPid, ns), nsLink(t, pid, ns); a != e {
			t.Errorf("%s namespace: init %q, exec'd process %q", ns, a, e)
		}
	}
	if ic, ec := mustRead(t, fmt.Sprintf("/proc/%d/cgroup", initPid)), mustRead(t, fmt.Sprintf("/proc/%d/cgroup", pid)); ic != ec {
		t.Errorf("cgroups differ:\ninit %s\nexec %s", ic, ec)
	}
	// Seen from the host: the same ids (the namespace's root, host uid 100000) and confinement.
	for _, f := range []string{"Uid", "Gid", "CapEff", "CapPrm", "CapBnd", "CapInh", "CapAmb", "NoNewPrivs", "Seccomp"} {
		if a, e := procStatus(t, initPid, f), procStatus(t, pid, f); a != e {
			t.Errorf("%s: init %q, exec'd process %q", f, a, e)
		}
	}
	if uid := procStatus(t, pid, "Uid"); !strings.HasPrefix(uid, "100000\t") {
		t.Errorf("host uid of the exec'd process = %q, want 100000", uid)
	}
	x.ok("delete", "--force", "ux")
}

// TestUsernsExecTerminal: exec --tty into a user namespace gets a terminal from the container's
// devpts, owned by the container's root as in a container without one, and the exit code.
func TestUsernsExecTerminal(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.mapUsers()
	x.running("ut")
	master, slave := openPty(t)
	cmd := x.cmd("exec", "--tty", "ut", "sh", "-c", "tty; stat -c 'owner %u' $(tty); id -u; exit 3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	out, code := ptyRun(t, cmd, master, slave)
	for _, want := range []string{"/dev/pts/", "owner 0", "\n0\r\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
	if code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	x.ok("delete", "--force", "ut")
}

// ptyRun runs cmd, whose stdio is slave, and collects what arrives on master until it exits.
func ptyRun(t *testing.T, cmd *exec.Cmd, master, slave *os.File) (string, int) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-waited
		t.Fatalf("hull with a terminal hung; output so far %q", out.String())
	}
	master.SetReadDeadline(time.Now().Add(time.Second))
	<-done
	return out.String(), cmd.ProcessState.ExitCode()
}

// TestUsernsJoinByPath: a container whose spec names an existing user namespace is made inside
// it: its init's user namespace is that one, its other namespaces are new and owned by it (so
// its root can mount in them: create gets to "created"), and exec joins it too.
func TestUsernsJoinByPath(t *testing.T) {
	// A user namespace of someone else's, mapping only root to root, with setgroups denied.
	holder := sleeper(t, "unshare", "--user", "--map-root-user", "sleep", "60")
	want := waitNsDiffers(t, holder.Process.Pid, "user")

	x := newH(t, "sh", "-c", "cat /proc/self/uid_map; cat /proc/self/setgroups; id -u; exec sleep 1000")
	x.joinUsers(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid))
	for i, m := range x.spec.Mounts {
		if m.Destination == "/dev/pts" { // gid 5 is not mapped in that namespace
			x.spec.Mounts[i].Options = []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}
		}
	}
	stdio := x.create("ujoin")
	pid := x.initPid("ujoin")
	if got := nsLink(t, pid, "user"); got != want {
		t.Errorf("init's user namespace = %q, want the joined %q", got, want)
	}
	for _, k := range []string{"mnt", "pid", "net"} {
		if got := nsLink(t, pid, k); got == nsLink(t, holder.Process.Pid, k) {
			t.Errorf("%s namespace %q is the holder's, want a new one", k, got)
		}
	}
	x.ok("start", "ujoin")
	waitFor(t, 10*time.Second, "the process's output", func() bool { return strings.Count(mustRead(t, stdio), "\n") >= 3 })
	if got := lines(mustRead(t, stdio)); len(got) != 3 || oneLine(got[0]) != "0 0 1" || got[1] != "deny" || got[2] != "0" {
		t.Errorf("inside: uid_map, setgroups, uid = %q, want \"0 0 1\", deny, 0", got)
	}
	if got := strings.TrimSpace(x.ok("exec", "ujoin", "readlink", "/proc/self/ns/user")); got != want {
		t.Errorf("exec'd process's user namespace = %q, want %q", got, want)
	}
	x.ok("delete", "--force", "ujoin")

	// A user namespace without maps: the stub cannot become its root, and says so.
	t.Run("Unmapped", func(t *testing.T) {
		bare := sleeper(t, "unshare", "--user", "sleep", "60")
		waitNsDiffers(t, bare.Process.Pid, "user")
		x := newH(t, "true")
		x.joinUsers(fmt.Sprintf("/proc/%d/ns/user", bare.Process.Pid))
		x.writeSpec()
		x.refused(x.run("create", "--bundle", x.bundle, "unmapped"), "a user namespace that maps no root", "become root of the user namespace")
		x.nothingLeft()
	})

	t.Run("WrongType", func(t *testing.T) {
		x := newH(t, "true")
		x.joinUsers(fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid))
		x.writeSpec()
		x.refused(x.run("create", "--bundle", x.bundle, "wrong"), "a net namespace as the user namespace", "is not a user namespace")
		x.nothingLeft()
	})
}

// TestUsernsJoinContainer: a container joins the user namespace of another hull container
// (root mapped to host 100000), as the containers of a pod share one: same namespace, same
// mapping, its own mount namespace.
func TestUsernsJoinContainer(t *testing.T) {
	a := newH(t, "sleep", "1000")
	a.mapUsers()
	aPid := a.running("owner")
	t.Cleanup(func() { _ = a.run("delete", "--force", "owner") })

	x := newH(t)
	x.ownRootfs()
	x.spec.Linux.CgroupsPath += "-member" // the leak check looks for processes in each
	x.joinUsers(fmt.Sprintf("/proc/%d/ns/user", aPid))
	out := x.sh("member", `readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; stat -c %u /bin/busybox; readlink /proc/self/ns/mnt`)
	got := lines(out)
	if len(got) != 5 {
		t.Fatalf("inside: %q", got)
	}
	if want := nsLink(t, aPid, "user"); got[0] != want {
		t.Errorf("user namespace = %q, want the other container's %q", got[0], want)
	}
	if oneLine(got[1]) != "0 100000 65536" || got[2] != "0" || got[3] != "0" {
		t.Errorf("uid_map, uid, owner of /bin/busybox = %q, want \"0 100000 65536\", 0, 0", got[1:4])
	}
	if got[4] == nsLink(t, aPid, "mnt") {
		t.Errorf("mount namespace %q is the other container's", got[4])
	}
	a.ok("delete", "--force", "owner")
}

// TestExecTimeNamespace: exec into a container with its own time namespace sees its clocks
// (the stub joins it: setns(2) refuses a multi-threaded caller with EUSERS).
func TestExecTimeNamespace(t *testing.T) {
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel has no time namespaces (CONFIG_TIME_NS)")
	}
	x := newH(t, "sleep", "1000")
	const offset = 10 * 86400
	x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
	x.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: offset}, "monotonic": {Secs: offset}}
	initPid := x.running("tx")
	out := x.ok("exec", "tx", "sh", "-c", "cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time")
	got := lines(out)
	if len(got) != 2 {
		t.Fatalf("exec: %q", out)
	}
	var inside, host int
	fmt.Sscan(got[0], &inside)
	fmt.Sscan(strings.Split(mustRead(t, "/proc/uptime"), ".")[0], &host)
	if d := inside - host; d < offset-60 || d > offset+60 {
		t.Errorf("uptime in exec %d s, host %d s: offset %d, want %d", inside, host, d, offset)
	}
	if want := nsLink(t, initPid, "time"); got[1] != want {
		t.Errorf("exec'd process's time namespace = %q, want the init's %q", got[1], want)
	}
	x.ok("delete", "--force", "tx")
}
