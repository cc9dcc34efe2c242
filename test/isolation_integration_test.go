//go:build integration

package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests read what the kernel gives a container from inside it: they run `sh -c SCRIPT` with
// `hull run` and compare its stdout with what the spec asked for and with the test's own view of
// the host.

// sh runs script as the container's process and returns its stdout; it fails the test unless the
// container exits 0.
func (x *h) sh(id, script string) string {
	x.t.Helper()
	x.spec.Process.Args = []string{"sh", "-c", script}
	r := x.runContainer(id)
	if r.code != 0 {
		x.t.Fatalf("container %s: exit %d\nstdout: %s\nstderr: %s", id, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// create runs `hull create` with the container's stdio (and hull's) on a file rather than a pipe,
// so that create returns while the container still holds them. It returns the file's path.
func (x *h) create(id string, flags ...string) string {
	x.t.Helper()
	return x.createWithin(id, 30*time.Second, flags...)
}

// createWithin is create that gives up (killing hull) after d.
func (x *h) createWithin(id string, d time.Duration, flags ...string) string {
	x.t.Helper()
	x.writeSpec()
	out := filepath.Join(x.t.TempDir(), "stdio")
	f, err := os.Create(out)
	if err != nil {
		x.t.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"--root", x.root, "create", "--bundle", x.bundle}, flags...)
	cmd := exec.Command(hullBin, append(args, id)...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = f, f, x.bundle
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		x.t.Fatalf("hull create %s: %v\n%s", id, err, b)
	}
	return out
}

// initPid returns the host pid of the container's init from `hull state`.
func (x *h) initPid(id string) int {
	x.t.Helper()
	pid, ok := x.state(id)["pid"].(float64)
	if !ok || pid <= 0 {
		x.t.Fatalf("state %s has no pid: %v", id, x.state(id))
	}
	return int(pid)
}

// lines splits s into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// section returns the lines between "== name" and the next "== " marker in a script's output.
func section(out, name string) []string {
	var got []string
	in := false
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "== ") {
			in = l == "== "+name
			continue
		}
		if in {
			got = append(got, l)
		}
	}
	return got
}

// mountEntry is one line of /proc/<pid>/mountinfo (proc(5)).
type mountEntry struct {
	dev, root, point, opts, optional, fstype, source, super string
}

// parseMountinfo maps mount points to their entry; a later (upper) mount wins.
func parseMountinfo(s string) map[string]mountEntry {
	m := map[string]mountEntry{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, v := range f {
			if v == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+4 {
			continue
		}
		m[f[4]] = mountEntry{dev: f[2], root: f[3], point: f[4], opts: f[5], optional: strings.Join(f[6:sep], " "),
			fstype: f[sep+1], source: f[sep+2], super: f[sep+3]}
	}
	return m
}

func hasOpt(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

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
	const host = 100000
	if out, err := exec.Command("chown", "-R", fmt.Sprint(host)+":"+fmt.Sprint(host), filepath.Join(x.bundle, "rootfs")).CombinedOutput(); err != nil {
		t.Fatalf("chown rootfs: %v %s", err, out)
	}
	// The mapped root must be able to walk to its rootfs: t.TempDir makes 0700 directories.
	for d := x.bundle; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	x.spec.Linux.Namespaces = append(x.spec.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	x.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: 65536}}
	x.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: host, Size: 65536}}
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

func TestProcessArgsEnvCwd(t *testing.T) {
	x := newH(t)
	x.spec.Process.Env = []string{"PATH=/bin", "GREETING=hello world"}
	x.spec.Process.Cwd = "/home/user"
	x.spec.Process.Args = []string{"sh", "-c", `echo "$0|$1|$2"; echo "$GREETING"; pwd; env | sort`, "zero", "one", "two words"}
	r := x.runContainer("args")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	got := lines(r.stdout)
	want := []string{"zero|one|two words", "hello world", "/home/user"}
	if len(got) < 3 || strings.Join(got[:3], "\n") != strings.Join(want, "\n") {
		t.Errorf("argv/env/cwd = %q, want %q", got, want)
	}
	// The process gets the spec's env, plus what sh itself exports (PWD, SHLVL) and HOME, which
	// runc adds from /etc/passwd when the spec has none.
	for _, l := range got[3:] {
		switch strings.SplitN(l, "=", 2)[0] {
		case "PATH", "GREETING", "PWD", "SHLVL", "HOME":
		default:
			t.Errorf("unexpected variable in the container's env: %q", l)
		}
	}
}

func TestProcessUser(t *testing.T) {
	x := newH(t)
	umask := uint32(0o027)
	x.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{10, 20}, Umask: &umask}
	out := x.sh("user", `id -u; id -g; grep '^Groups:' /proc/self/status; umask; touch /tmp/f; stat -c '%a %u:%g' /tmp/f`)
	got := lines(out)
	want := []string{"1000", "1000", "Groups:\t10 20", "0027", "640 1000:1000"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProcessRlimits(t *testing.T) {
	x := newH(t)
	x.spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456},
		{Type: "RLIMIT_STACK", Soft: 4 << 20, Hard: 8 << 20},
		{Type: "RLIMIT_NPROC", Soft: 777, Hard: 777},
	}
	out := x.sh("rlimits", `ulimit -n; ulimit -Hn; ulimit -s; grep -E '^Max (processes|stack size)' /proc/self/limits`)
	got := lines(out)
	if len(got) != 5 || got[0] != "123" || got[1] != "456" || got[2] != "4096" {
		t.Fatalf("ulimit -n, -Hn, -s = %q, want 123, 456, 4096", got)
	}
	// /proc/self/limits lists stack size before processes.
	if f := strings.Fields(got[3]); len(f) < 5 || f[3] != "4194304" || f[4] != "8388608" {
		t.Errorf("/proc/self/limits: %q, want max stack size 4194304 8388608", got[3])
	}
	if f := strings.Fields(got[4]); len(f) < 4 || f[2] != "777" || f[3] != "777" {
		t.Errorf("/proc/self/limits: %q, want max processes 777 777", got[4])
	}
}

func TestProcessCapabilities(t *testing.T) {
	x := newH(t)
	c := []string{"CAP_CHOWN", "CAP_NET_RAW"}
	x.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: c, Effective: c, Permitted: c, Inheritable: c, Ambient: c}
	out := x.sh("caps", `grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status`)
	got := map[string]string{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		got[strings.TrimSuffix(f[0], ":")] = f[1]
	}
	// CAP_CHOWN is bit 0, CAP_NET_RAW bit 13.
	for _, set := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got[set] != "0000000000002001" {
			t.Errorf("%s = %q, want 0000000000002001 (CAP_CHOWN|CAP_NET_RAW)", set, got[set])
		}
	}
}

func TestProcessNoNewPrivileges(t *testing.T) {
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprint(nnp), func(t *testing.T) {
			x := newH(t)
			x.spec.Process.NoNewPrivileges = nnp
			want := map[bool]string{true: "1", false: "0"}[nnp]
			got := strings.Fields(x.sh("nnp", "grep NoNewPrivs /proc/self/status"))
			if len(got) != 2 || got[1] != want {
				t.Errorf("NoNewPrivileges %v: status says %q, want %s", nnp, got, want)
			}
		})
	}
}

func TestProcessSeccomp(t *testing.T) {
	x := newH(t)
	eperm := uint(1)
	x.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &eperm},
			// Only chmod to mode 0777 is refused: the mode is chmod's 2nd and fchmodat's 3rd argument.
			{Names: []string{"chmod"}, Action: specs.ActErrno, ErrnoRet: &eperm,
				Args: []specs.LinuxSeccompArg{{Index: 1, Value: 0o777, Op: specs.OpEqualTo}}},
			{Names: []string{"fchmodat", "fchmodat2"}, Action: specs.ActErrno, ErrnoRet: &eperm,
				Args: []specs.LinuxSeccompArg{{Index: 2, Value: 0o777, Op: specs.OpEqualTo}}},
		},
	}
	out := x.sh("seccomp", `grep '^Seccomp:' /proc/self/status
mkdir /tmp/d 2>&1 && echo mkdir ok
touch /tmp/f; chmod 0755 /tmp/f && echo chmod 0755 ok
chmod 0777 /tmp/f 2>&1 && echo chmod 0777 ok
stat -c %a /tmp/f`)
	got := lines(out)
	want := []string{"Seccomp:\t2", "mkdir: can't create directory '/tmp/d': Operation not permitted",
		"chmod 0755 ok", "chmod: /tmp/f: Operation not permitted", "755"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestProcessOOMScoreAdj(t *testing.T) {
	x := newH(t)
	adj := 567
	x.spec.Process.OOMScoreAdj = &adj
	if got := strings.TrimSpace(x.sh("oom", "cat /proc/self/oom_score_adj")); got != "567" {
		t.Errorf("oom_score_adj = %q, want 567", got)
	}
}

func TestProcessSysctl(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(b))
	}
	hostFwd, hostTTL := read("/proc/sys/net/ipv4/ip_forward"), read("/proc/sys/net/ipv4/ip_default_ttl")
	x := newH(t)
	x.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.ip_default_ttl": "77"}
	got := lines(x.sh("sysctl", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_default_ttl"))
	if strings.Join(got, " ") != "1 77" {
		t.Errorf("ip_forward, ip_default_ttl inside = %q, want 1 77", got)
	}
	if f, ttl := read("/proc/sys/net/ipv4/ip_forward"), read("/proc/sys/net/ipv4/ip_default_ttl"); f != hostFwd || ttl != hostTTL {
		t.Errorf("host sysctls changed: ip_forward %s→%s, ip_default_ttl %s→%s", hostFwd, f, hostTTL, ttl)
	}
}

func TestProcessExitCode(t *testing.T) {
	x := newH(t, "sh", "-c", "exit 3")
	if r := x.runContainer("exit3"); r.code != 3 {
		t.Errorf("hull run of `exit 3` exited %d, want 3 (stderr: %s)", r.code, r.stderr)
	}
}

func TestProcessKilledBySignal(t *testing.T) {
	x := newH(t, "sleep", "30")
	x.writeSpec()
	cmd := exec.Command(hullBin, "--root", x.root, "run", "--bundle", x.bundle, "sigkill")
	cmd.Dir = x.bundle
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r := x.run("state", "sigkill"); r.code == 0 && strings.Contains(r.stdout, `"running"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("container never reached running")
		}
	}
	x.ok("kill", "sigkill", "KILL")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("hull run did not return after SIGKILL")
	}
	done <- nil // for the cleanup
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGKILL) {
		t.Errorf("hull run exited %d, want 137", code)
	}
}

func TestRootfsMounts(t *testing.T) {
	x := newH(t)
	roDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(roDir, "hello"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A host directory with a submount: rbind carries it into the container, bind does not.
	tree := t.TempDir()
	sub := filepath.Join(tree, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(sub, syscall.MNT_DETACH) })
	x.spec.Mounts = append(x.spec.Mounts,
		specs.Mount{Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m", "mode=710"}},
		specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: roDir, Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/mnt/rbind", Type: "bind", Source: tree, Options: []string{"rbind"}},
		specs.Mount{Destination: "/mnt/bind", Type: "bind", Source: tree, Options: []string{"bind"}},
	)
	out := x.sh("mounts", `cat /proc/self/mountinfo; echo "== probe"; stat -c %a /mnt/tmp; cat /mnt/ro/hello
touch /mnt/ro/x 2>&1 || true`)
	m := parseMountinfo(out)
	check := func(point, fstype string, opts, super []string) {
		t.Helper()
		e, ok := m[point]
		if !ok {
			t.Errorf("no mount at %s", point)
			return
		}
		if fstype != "" && e.fstype != fstype {
			t.Errorf("%s: type %s, want %s", point, e.fstype, fstype)
		}
		for _, o := range opts {
			if !hasOpt(e.opts, o) {
				t.Errorf("%s: mount options %q lack %s", point, e.opts, o)
			}
		}
		for _, o := range super {
			if !hasOpt(e.super, o) {
				t.Errorf("%s: superblock options %q lack %s", point, e.super, o)
			}
		}
	}
	check("/mnt/tmp", "tmpfs", []string{"nosuid", "nodev"}, []string{"size=1024k", "mode=710"})
	check("/mnt/ro", "", []string{"ro"}, nil)
	check("/mnt/rbind", "", []string{"rw"}, nil)
	check("/mnt/rbind/sub", "tmpfs", nil, nil)
	check("/mnt/bind", "", nil, nil)
	if _, ok := m["/mnt/bind/sub"]; ok {
		t.Errorf("a non-recursive bind carried the submount along")
	}
	check("/proc", "proc", nil, nil)
	check("/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	check("/dev", "tmpfs", []string{"nosuid"}, []string{"mode=755"})
	check("/dev/pts", "devpts", []string{"nosuid", "noexec"}, []string{"ptmxmode=666", "mode=620", "gid=5"})
	check("/dev/shm", "tmpfs", []string{"nosuid", "nodev", "noexec"}, []string{"size=65536k"})
	check("/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}, nil)
	cg := false
	for p, e := range m {
		if strings.HasPrefix(p, "/sys/fs/cgroup") && (e.fstype == "cgroup" || e.fstype == "cgroup2") {
			cg = true
			if !hasOpt(e.opts, "ro") {
				t.Errorf("cgroup mount %s is not read-only: %s", p, e.opts)
			}
		}
	}
	if !cg {
		t.Errorf("no cgroup filesystem under /sys/fs/cgroup")
	}
	got := section(out, "probe")
	want := []string{"710", "hi", "touch: /mnt/ro/x: Read-only file system"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("probe = %q, want %q", got, want)
	}
}

// sharedMount makes dir a shared mount point of its own (cleaned up with the test).
func sharedMount(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
}

func TestRootfsPropagation(t *testing.T) {
	x := newH(t)
	d := t.TempDir()
	sharedMount(t, d)
	x.spec.Mounts = append(x.spec.Mounts,
		specs.Mount{Destination: "/mnt/slave", Type: "bind", Source: d, Options: []string{"rbind", "rslave"}},
		specs.Mount{Destination: "/mnt/shared", Type: "bind", Source: d, Options: []string{"rbind", "rshared"}},
		specs.Mount{Destination: "/mnt/private", Type: "bind", Source: d, Options: []string{"rbind", "rprivate"}},
	)
	m := parseMountinfo(x.sh("propagation", "cat /proc/self/mountinfo"))
	for point, want := range map[string]string{"/mnt/slave": "master:", "/mnt/shared": "shared:", "/mnt/private": ""} {
		e, ok := m[point]
		switch {
		case !ok:
			t.Errorf("no mount at %s", point)
		case want == "" && e.optional != "":
			t.Errorf("%s: propagation %q, want private", point, e.optional)
		case want != "" && !strings.Contains(e.optional, want):
			t.Errorf("%s: propagation %q, want %s", point, e.optional, want)
		}
	}

	// rootfsPropagation: with the bundle on a shared mount, "slave" keeps a master, "private" none.
	for prop, want := range map[string]string{"slave": "master:", "private": ""} {
		t.Run(prop, func(t *testing.T) {
			x := newH(t)
			sharedMount(t, x.bundle)
			x.spec.Linux.RootfsPropagation = prop
			root := parseMountinfo(x.sh("rootprop", "cat /proc/self/mountinfo"))["/"]
			if want == "" && root.optional != "" || want != "" && !strings.Contains(root.optional, want) {
				t.Errorf("rootfsPropagation %s: / has propagation %q, want %q", prop, root.optional, want)
			}
		})
	}
}

func TestRootfsReadonlyMaskedPaths(t *testing.T) {
	x := newH(t)
	x.spec.Root.Readonly = true
	out := x.sh("ro", `touch /x 2>&1; touch /tmp/x 2>&1
echo "== masked"; stat -c '%F %t:%T' /proc/timer_list; wc -c </proc/timer_list; ls -A /sys/firmware | wc -l
echo "== readonly"; echo 77 2>&1 >/proc/sys/net/ipv4/ip_default_ttl; cat /proc/sys/net/ipv4/ip_default_ttl`)
	got := lines(out)
	if len(got) < 2 || got[0] != "touch: /x: Read-only file system" || got[1] != "touch: /tmp/x: Read-only file system" {
		t.Errorf("root.readonly: %q, want both touches refused", got)
	}
	// This kernel has no /proc/kcore; /proc/timer_list is masked the same way (/dev/null over it).
	if m := section(out, "masked"); strings.Join(m, "|") != "character special file 1:3|0|0" {
		t.Errorf("masked paths: %q, want /proc/timer_list to be an empty /dev/null and /sys/firmware empty", m)
	}
	if r := section(out, "readonly"); len(r) != 2 || !strings.Contains(r[0], "Read-only file system") || r[1] != "64" {
		t.Errorf("readonly /proc/sys: %q, want the write refused", r)
	}
}

func TestRootfsDevices(t *testing.T) {
	x := newH(t)
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1000)
	x.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
	out := x.sh("devices", `for d in null zero full random urandom tty fuse; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done
echo "== links"; for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done`)
	want := map[string]string{
		"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
		"/dev/urandom": "1:9", "/dev/tty": "5:0", "/dev/fuse": "a:e5",
	}
	seen := 0
	for _, l := range lines(out) {
		if l == "== links" {
			break
		}
		f := strings.SplitN(l, " ", 2)
		w, ok := want[f[0]]
		if !ok {
			t.Errorf("unexpected line %q", l)
			continue
		}
		seen++
		if !strings.HasPrefix(f[1], "character special file "+w+" ") {
			t.Errorf("%s: %q, want a character device %s", f[0], f[1], w)
		}
		if f[0] == "/dev/fuse" && !strings.HasSuffix(f[1], " 640 1000:1000") {
			t.Errorf("/dev/fuse: %q, want mode 640 owned by 1000:1000", f[1])
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d devices, want %d:\n%s", seen, len(want), out)
	}
	links := section(out, "links")
	wantLinks := []string{"fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1", "stderr /proc/self/fd/2", "ptmx pts/ptmx"}
	if strings.Join(links, "\n") != strings.Join(wantLinks, "\n") {
		t.Errorf("links = %q, want %q", links, wantLinks)
	}
}

func TestRootfsNoPivot(t *testing.T) {
	x := newH(t, "sh", "-c", `ls -A /; echo "== up"; ls -A /..; echo "== mountinfo"; cat /proc/self/mountinfo`)
	x.writeSpec()
	r := x.run("run", "--no-pivot", "--bundle", x.bundle, "nopivot")
	if r.code != 0 {
		t.Fatalf("hull run --no-pivot: exit %d: %s", r.code, r.stderr)
	}
	ents, err := os.ReadDir(filepath.Join(x.bundle, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name())
	}
	sort.Strings(want)
	var root []string
	for _, l := range lines(r.stdout) {
		if l == "== up" {
			break
		}
		root = append(root, l)
	}
	if strings.Join(root, " ") != strings.Join(want, " ") {
		t.Errorf("ls / = %q, want the rootfs's %q", root, want)
	}
	if up := section(r.stdout, "up"); strings.Join(up, " ") != strings.Join(want, " ") {
		t.Errorf("ls /.. = %q, want the rootfs's %q", up, want)
	}
	// The host's root mount (root "/" of the host's root filesystem, the same st_dev) must not
	// be reachable. Not the same source and type: on a VM whose / is a tmpfs, every tmpfs is
	// "tmpfs tmpfs".
	host := parseMountinfo(mustRead(t, "/proc/self/mountinfo"))["/"]
	inside := strings.Join(section(r.stdout, "mountinfo"), "\n")
	for _, e := range parseMountinfo(inside) {
		if e.root == "/" && e.dev == host.dev {
			t.Errorf("the host's root filesystem is visible at %s", e.point)
		}
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
