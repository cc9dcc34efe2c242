package runtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hullrt/hull/runtime/initproc"
)

// recordedOp finds the op of every recording call with a literal op: rec.Step("mount", ...),
// r.step("clone", ...), plan("mkfifo", ...), PlannedStep{"cgroup.write", ...},
// PlannedStep{Op: "seccomp", ...} (the stub's steps, planned or skipped), and the
// freezer's m.freezer("cgroup.freeze", ...).
var recordedOp = regexp.MustCompile(`(?:\b[Ss]tep\(|\bplanned\([A-Za-z.]+, |\bplan\(|[Pp]lannedStep\{(?:Phase: "[a-z]+", Op: |"[a-z]+", |Op: )?|\bfreezer\()"([a-z][a-z0-9_.+ -]*)"`)

// dynamicOp finds recording calls whose op is not a literal: they must only forward an op
// recorded elsewhere.
var dynamicOp = regexp.MustCompile(`\.Step\(([A-Za-z_.]+),`)

// TestEveryRecordedOpIsExplained scans hull's source (every package, the supervisor's too once
// it exists) for the ops it records and fails for any the explain table lacks.
func TestEveryRecordedOpIsExplained(t *testing.T) {
	ops := map[string][]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == ".git" || d.Name() == "docs" || d.Name() == "third_party") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range recordedOp.FindAllSubmatch(src, -1) {
			ops[string(m[1])] = append(ops[string(m[1])], path)
		}
		for _, m := range dynamicOp.FindAllSubmatch(src, -1) {
			if v := string(m[1]); !slices.Contains([]string{"op", "m.Op"}, v) {
				t.Errorf("%s: Step(%s, ...) records an op this test cannot see; use a literal", path, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The scan must see the ops we know are there, or it proves nothing.
	for _, must := range []string{"clone", "mount", "pivot_root", "cgroup.write", "netlink", "nftables", "capset", "execve", "setns", "cgroup.freeze"} {
		if _, ok := ops[must]; !ok {
			t.Errorf("the source scan found no %q step: the pattern is broken", must)
		}
	}
	for op, where := range ops {
		if !explained(op) {
			t.Errorf("op %q (recorded in %s) has no entry in the explain table (explain.go)", op, strings.Join(slices.Compact(where), ", "))
		}
	}
	for _, l := range lessons {
		if l.why == "" {
			t.Errorf("explain entry for %q (match %q) has no reason", l.op, l.match)
		}
	}
}

// TestExplainShell checks the shell command for args as hull records them (copied from a real
// --debug run, and from the stub's and netns's formats).
func TestExplainShell(t *testing.T) {
	for _, c := range []struct{ op, args, shell, whyHas string }{
		{"clone", "CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET hull init", "unshare --pid --fork --mount --uts --ipc --net hull init", "clone(2)"},
		{"clone", "into the namespaces of pid 42: stub → /bin/ps -ef", "nsenter -t 42 --all /bin/ps -ef", "exec"},
		{"unshare", "CLONE_NEWCGROUP", "unshare --cgroup", "cgroup namespace"},
		{"setns", "/proc/7/ns/net network", "nsenter --net=/proc/7/ns/net", "joins"},
		{"setns", "pidfd of 42 CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWNET", "nsenter -t 42 --mount --uts --net", "pidfd"},
		{"clone", "CLONE_NEWPID|CLONE_NEWNS stub await", "unshare --pid --fork --mount stub await", "C stub"},
		{"sendmsg", "program (memfd, sealed), cwd / → stub 42: waits on exec fifo, then execve /bin/true", "", "sealed"},
		{"mount", "-t proc proc /b/rootfs/proc", "mount -t proc proc /b/rootfs/proc", "pid namespace"},
		{"mount", "--make-rslave /", "mount --make-rslave /", "propagat"},
		{"mount", "--bind /dev/null /proc/kcore", "mount --bind /dev/null /proc/kcore", "mask"},
		{"mount_setattr", "/b/rootfs/data set=0x3 clear=0x0 recursive", "mount -o remount,bind,ro,nosuid /b/rootfs/data", "mount_setattr"},
		{"pivot_root", ". . (in /b/rootfs)", "cd /b/rootfs && pivot_root . .", "chroot"},
		{"umount2", "-l .", "umount -l .", "old root"},
		{"mknod", "-m 666 /b/rootfs/dev/null c 1 3", "mknod -m 666 /b/rootfs/dev/null c 1 3", "device"},
		{"symlink", "/proc/self/fd /b/rootfs/dev/fd", "ln -s /proc/self/fd /b/rootfs/dev/fd", "/dev"},
		{"cgroup.write", "memory.limit_in_bytes=67108864 in /sys/fs/cgroup/memory/hull/x", "echo 67108864 > /sys/fs/cgroup/memory/hull/x/memory.limit_in_bytes", "OOM"},
		{"cgroup.write", "memory.max=max in /sys/fs/cgroup/hull/x", "echo max > /sys/fs/cgroup/hull/x/memory.max", "memory limit"},
		{"cgroup.write", "cgroup.procs=27044 in /sys/fs/cgroup/memory/hull/x", "echo 27044 > /sys/fs/cgroup/memory/hull/x/cgroup.procs", "moves"},
		{"cgroup.write", "devices.allow=c 136:* rwm in /sys/fs/cgroup/devices/hull/x", "echo 'c 136:* rwm' > /sys/fs/cgroup/devices/hull/x/devices.allow", "device"},
		{"cgroup.mkdir", "/sys/fs/cgroup/pids/hull/x", "mkdir /sys/fs/cgroup/pids/hull/x", "creates a cgroup"},
		{"cgroup.apply", "pid 42 → /hull/x", "echo 42 > /sys/fs/cgroup/<each hierarchy>/hull/x/cgroup.procs", "joins"},
		{"write", "1 > /proc/sys/net/ipv4/ip_forward", "echo 1 > /proc/sys/net/ipv4/ip_forward", "sysctl"},
		{"write", "-500 > /proc/42/oom_score_adj", "echo -500 > /proc/42/oom_score_adj", "OOM killer"},
		{"prlimit", "RLIMIT_NOFILE soft=1024 hard=4096", "prlimit --nofile=1024:4096", "limit"},
		{"prlimit", "pid 9 RLIMIT_NPROC soft=10 hard=10", "prlimit --pid 9 --nproc=10:10", "limit"},
		{"sethostname", "web", "hostname web", "UTS"},
		{"hook", "prestart #0 /usr/bin/net-setup a b", "/usr/bin/net-setup a b < state.json", "hook"},
		{"setresuid", "uid=1000 gid=100", "setpriv --reuid=1000 --regid=100", "user"},
		{"setgroups", "10,20", "setpriv --groups=10,20", "groups"},
		{"capset", "bounding=chown,kill effective=chown permitted=chown inheritable= ambient=", "setpriv --bounding-set=-all,+chown,+kill --inh-caps=-all --ambient-caps=-all", "capabilit"},
		{"prctl", "PR_SET_NO_NEW_PRIVS 1", "setpriv --no-new-privs", "setuid"},
		{"seccomp", "filter of 20 BPF instructions", "", "seccomp"},
		{"execve", "/bin/sh -c true", "exec /bin/sh -c true", "program"},
		{"open+read", "/run/hull/x/exec.fifo (wakes the stub)", "cat /run/hull/x/exec.fifo", "fifo"},
		{"pidfd_send_signal", "SIGKILL pid 42", "kill -KILL 42", "pidfd"},
		{"poll", "pidfd of pid 42 until exit", "tail --pid=42 -f /dev/null", "pidfd"},
		{"netlink", "ip link add hv0 mtu 1500 master br0 up type veth peer name eth0 netns /proc/1/ns/net", "ip link add hv0 mtu 1500 master br0 up type veth peer name eth0 netns /proc/1/ns/net", "veth"},
		{"netlink", "ip link add br0 mtu 1500 up type bridge", "ip link add br0 mtu 1500 up type bridge", "bridge"},
		{"netlink", "ip -n /proc/1/ns/net route add default via 10.0.0.1 dev eth0", "ip -n /proc/1/ns/net route add default via 10.0.0.1 dev eth0", "default route"},
		{"nftables", "nft add table inet hull", "nft add table inet hull", "nftables"},
	} {
		shell, why := Explain(c.op, c.args)
		if shell != c.shell {
			t.Errorf("%s %q: shell %q, want %q", c.op, c.args, shell, c.shell)
		}
		if !strings.Contains(why, c.whyHas) {
			t.Errorf("%s %q: why %q lacks %q", c.op, c.args, why, c.whyHas)
		}
	}
	if shell, why := Explain("no-such-op", "x"); shell != "" || why != "" {
		t.Errorf("unknown op explained: %q %q", shell, why)
	}
}

// TestTracers checks both renderings of the same steps, relayed ones included.
func TestTracers(t *testing.T) {
	var js, text bytes.Buffer
	r := &Runtime{Trace: Tracers(JSONTracer(&js), Explainer(&text))}
	r.Step("mount", "-t proc proc /r/proc", nil, 73*time.Microsecond)
	r.relay(initproc.Message{Type: initproc.MsgStep, Op: "mount", Args: "-t proc proc /s/proc", Error: "operation not permitted"})
	r.relay(initproc.Message{Type: initproc.MsgStep, Op: "execve", Args: "/bin/true", Source: SourceStub, Planned: true})
	r.RecorderFor(SourceSupervisor).Step("cgroup.kill", "SIGTERM /hull/x", errors.New("gone"), time.Millisecond)

	var evs []TraceEvent
	dec := json.NewDecoder(&js)
	for dec.More() {
		var e TraceEvent
		if err := dec.Decode(&e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events, want 4", len(evs))
	}
	for i, want := range []struct {
		source, result, shell string
		seq                   int
		took                  int64
	}{
		{SourceHull, "ok", "mount -t proc proc /r/proc", 1, 73},
		{SourceInit, "error", "mount -t proc proc /s/proc", 2, 0},
		{SourceStub, "planned", "exec /bin/true", 3, 0},
		{SourceSupervisor, "error", "", 4, 1000},
	} {
		e := evs[i]
		if e.Source != want.source || e.Result != want.result || e.Shell != want.shell || e.Seq != want.seq || e.TookUS != want.took || e.Why == "" {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
	}
	if evs[1].Error != "operation not permitted" {
		t.Errorf("error %q", evs[1].Error)
	}
	out := text.String()
	for _, has := range []string{"$ mount -t proc proc /r/proc", "why: a /proc", "container init; FAILED: operation not permitted", "stub, once released; planned", "supervisor"} {
		if !strings.Contains(out, has) {
			t.Errorf("narration lacks %q:\n%s", has, out)
		}
	}
	if n := strings.Count(out, "why: a /proc"); n != 1 {
		t.Errorf("the same reason printed %d times, want once:\n%s", n, out)
	}
}
