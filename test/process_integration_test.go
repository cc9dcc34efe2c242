//go:build integration

package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

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

// TestRunForwardsSignals: `hull run` in the foreground relays the signals it catches to the
// container's process, and a real-time signal or SIGXFSZ, which it does not forward
// (runtime/forward.go), neither kills it nor reaches the container.
func TestRunForwardsSignals(t *testing.T) {
	x := newH(t, "sh", "-c", `trap 'echo got USR1' USR1; trap 'echo got RT' 37; trap 'echo got XFSZ' XFSZ; trap 'echo got TERM; exit 7' TERM
echo ready; while :; do sleep 0.05; done`)
	x.writeSpec()
	cmd := x.cmd("run", "--bundle", x.bundle, "fwd")
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		x.run("delete", "--force", "fwd") // after a failure: hull was killed, not the container
	})
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				t.Fatalf("container printed %q (open %v), want %q", l, ok, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("container did not print %q", want)
		}
	}
	expect("ready")
	for _, s := range []syscall.Signal{37, syscall.SIGXFSZ, syscall.SIGUSR1} { // 37: SIGRTMIN+3
		if err := cmd.Process.Signal(s); err != nil {
			t.Fatal(err)
		}
	}
	expect("got USR1") // not "got RT" nor "got XFSZ": those were dropped, and hull still runs
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	expect("got TERM")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("hull run did not return after the container exited")
	}
	done <- nil // for the cleanup
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("hull run exited %d, want the container's 7", code)
	}
}
