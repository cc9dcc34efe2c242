//go:build integration

package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/test/internal/hosttest"
)

// traceOf reads a --trace-file: one runtime.TraceEvent per line.
func traceOf(t *testing.T, path string) []runtime.TraceEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var evs []runtime.TraceEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e runtime.TraceEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("trace line %q: %v", sc.Text(), err)
		}
		evs = append(evs, e)
	}
	return evs
}

// find returns the index of the first event at or after from that satisfies ok, or -1.
func find(evs []runtime.TraceEvent, from int, ok func(runtime.TraceEvent) bool) int {
	for i := from; i < len(evs); i++ {
		if ok(evs[i]) {
			return i
		}
	}
	return -1
}

func op(name string, has ...string) func(runtime.TraceEvent) bool {
	return func(e runtime.TraceEvent) bool {
		if e.Op != name {
			return false
		}
		for _, h := range has {
			if !strings.Contains(e.Args, h) {
				return false
			}
		}
		return true
	}
}

// TestTraceOfRun checks the facts of a real run's trace, in order: the clone flags the spec's
// namespaces ask for, the cgroup made at the spec's cgroupsPath with the memory limit written
// there, the init moved into it, /proc mounted in the rootfs, pivot_root into the rootfs, the
// hostname, the stub's identity and execve path, the start, and the cleanup.
func TestTraceOfRun(t *testing.T) {
	x := newH(t, "/bin/true")
	limit := int64(64 << 20)
	x.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	x.spec.Hostname = "traced"
	x.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	x.writeSpec()
	trace := filepath.Join(t.TempDir(), "trace.json")
	x.ok("--trace", "json", "--trace-file", trace, "run", "--bundle", x.bundle, "traced")
	evs := traceOf(t, trace)
	if len(evs) < 20 {
		t.Fatalf("only %d events", len(evs))
	}
	for i, e := range evs {
		if e.Seq != i+1 {
			t.Errorf("event %d has seq %d", i, e.Seq)
		}
		if e.Result == "error" {
			t.Errorf("step failed in a run that succeeded: %+v", e)
		}
		if e.Why == "" {
			t.Errorf("event without a reason: %+v", e)
		}
	}
	cg := x.spec.Linux.CgroupsPath
	rootfs := filepath.Join(x.bundle, "rootfs")
	at := 0
	// step finds the next event matching ok, after the previous one: the order is part of the fact.
	step := func(what string, source string, ok func(runtime.TraceEvent) bool) runtime.TraceEvent {
		t.Helper()
		i := find(evs, at, ok)
		if i < 0 {
			if j := find(evs, 0, ok); j >= 0 {
				t.Fatalf("%s: found at #%d, but before #%d (%s %s): wrong order", what, j+1, at, evs[at-1].Op, evs[at-1].Args)
			}
			t.Fatalf("%s: not in the trace", what)
		}
		if evs[i].Source != source {
			t.Errorf("%s: source %q, want %q", what, evs[i].Source, source)
		}
		at = i + 1
		return evs[i]
	}

	// On a pure v1 host the cgroup is made while the init starts, after the clone: look for it
	// from the start, then for the clone from the start again.
	step("cgroup directory", "hull", func(e runtime.TraceEvent) bool {
		return e.Op == "cgroup.mkdir" && strings.HasSuffix(e.Args, cg)
	})
	memFile, memVal := "memory.limit_in_bytes", fmt.Sprint(limit)
	if cgroupV2 {
		memFile = "memory.max"
	}
	w := step("memory limit", "hull", op("cgroup.write", memFile+"="+memVal+" in "))
	at = 0
	if !strings.HasSuffix(w.Args, cg) {
		t.Errorf("memory limit written in %q, want the cgroup %s", w.Args, cg)
	}
	if w.Shell != fmt.Sprintf("echo %s > %s/%s", memVal, strings.TrimPrefix(w.Args, memFile+"="+memVal+" in "), memFile) {
		t.Errorf("memory limit shell %q", w.Shell)
	}
	clone := step("clone", "hull", func(e runtime.TraceEvent) bool {
		return e.Op == "clone" && (strings.HasSuffix(e.Args, "hull init") || strings.HasSuffix(e.Args, "stub await"))
	})
	// Who builds the root and who joins the v1 cgroups: the init, or, the direct way
	// (runtime/direct.go), a thread of hull and the stub.
	builder, joiner := "init", "init"
	if strings.HasSuffix(clone.Args, "stub await") {
		builder, joiner = "hull", "stub"
	}
	for _, ns := range x.spec.Linux.Namespaces {
		flag := map[specs.LinuxNamespaceType]string{specs.PIDNamespace: "CLONE_NEWPID", specs.MountNamespace: "CLONE_NEWNS",
			specs.UTSNamespace: "CLONE_NEWUTS", specs.IPCNamespace: "CLONE_NEWIPC", specs.NetworkNamespace: "CLONE_NEWNET"}[ns.Type]
		if flag != "" && !strings.Contains(clone.Args, flag) {
			t.Errorf("clone %q lacks %s for the spec's %s namespace", clone.Args, flag, ns.Type)
		}
	}
	if !strings.HasPrefix(clone.Shell, "unshare ") || !strings.Contains(clone.Shell, "--pid --fork") {
		t.Errorf("clone shell %q", clone.Shell)
	}
	if !cgroupV2 { // on pure v2 the init is born in its cgroup (CLONE_INTO_CGROUP): nothing moves it
		// v1: the init moves its own thread, first thing, in every hierarchy (v1thread.Join).
		j := step("init joins its cgroup", joiner, op("cgroup.write", "tasks=0 in "))
		if !strings.HasSuffix(j.Args, cg) || !strings.HasSuffix(j.Shell, cg+"/tasks") {
			t.Errorf("thread join %q (shell %q), want into %s", j.Args, j.Shell, cg)
		}
		if i := find(evs, 0, op("cgroup.apply", cg)); i >= 0 {
			t.Errorf("the parent moved the init too: %+v", evs[i])
		}
	}
	step("proc mount", builder, op("mount", "-t proc proc "+rootfs+"/proc"))
	step("hostname", builder, func(e runtime.TraceEvent) bool { return e.Op == "sethostname" && e.Args == "traced" })
	piv := step("pivot_root", builder, op("pivot_root", "(in "+rootfs+")"))
	if piv.Shell != "cd "+rootfs+" && pivot_root . ." {
		t.Errorf("pivot_root shell %q", piv.Shell)
	}
	step("old root detached", builder, op("umount2", "-l"))
	step("identity", "stub", func(e runtime.TraceEvent) bool { return e.Op == "setresuid" && e.Args == "uid=1000 gid=1000" })
	caps := step("capabilities", "stub", op("capset", "bounding="))
	if strings.Contains(caps.Args, "sys_admin") || !strings.Contains(caps.Args, "chown") {
		t.Errorf("capset %q: want Docker's default set (chown, no sys_admin)", caps.Args)
	}
	step("no_new_privs", "stub", op("prctl", "NO_NEW_PRIVS"))
	step("seccomp", "stub", op("seccomp", "BPF instructions"))
	ex := step("execve", "stub", func(e runtime.TraceEvent) bool { return e.Op == "execve" && e.Args == "/bin/true" })
	if ex.Result != "planned" {
		t.Errorf("execve result %q, want planned (the stub applies it at start)", ex.Result)
	}
	step("start", "hull", op("open+read", filepath.Join(x.root, "traced", "exec.fifo")))
	step("process exit", "hull", op("wait4", "exit code 0"))
	step("cgroup removed", "hull", func(e runtime.TraceEvent) bool { return e.Op == "cgroup.rmdir" && strings.HasSuffix(e.Args, cg) })
	step("state removed", "hull", op("rm -r", filepath.Join(x.root, "traced")))
}

// TestExplainRun checks the narration of a real run for the pieces a learner needs.
func TestExplainRun(t *testing.T) {
	x := newH(t, "/bin/true")
	x.writeSpec()
	r := x.run("--explain", "run", "--bundle", x.bundle, "told")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	rootfs := filepath.Join(x.bundle, "rootfs")
	// The root is built by the init, or the direct way (runtime/direct.go) by a thread of hull
	// that entered the container's namespaces.
	builder := "[container init; ok, "
	if strings.Contains(r.stderr, "stub await") {
		builder = "$ nsenter -t "
	}
	for _, has := range []string{
		"$ unshare --pid --fork --mount", "$ mount -t proc proc " + rootfs + "/proc", "$ cd " + rootfs + " && pivot_root . .",
		builder, "[stub, once released; planned]", "$ exec /bin/true", "why: pivot_root makes the rootfs",
	} {
		if !strings.Contains(r.stderr, has) {
			t.Errorf("--explain output lacks %q", has)
		}
	}
	if t.Failed() {
		t.Logf("stderr:\n%s", r.stderr)
	}
}

// TestDryRunTouchesNothing runs `run --dry-run` as root with a fresh --root, then as an
// unprivileged user: both print the plan, and nothing is made: no state root, no cgroup, no
// mount, no process.
func TestDryRunTouchesNothing(t *testing.T) {
	x := newH(t, "/bin/sh", "-c", "echo must not run > /ran")
	limit := int64(32 << 20)
	x.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "touch " + filepath.Join(x.bundle, "hook-ran")}}}}
	x.writeSpec()
	rootfs := filepath.Join(x.bundle, "rootfs")
	mountsBefore := len(mountsUnder(x.bundle))
	trace := filepath.Join(t.TempDir(), "trace.json")

	check := func(who string, r result) {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("%s: dry run exit %d: %s", who, r.code, r.stderr)
		}
		if _, err := os.Stat(x.root); !os.IsNotExist(err) {
			t.Errorf("%s: the state root %s exists after a dry run (%v)", who, x.root, err)
		}
		if d := cgroupDirs(x.spec.Linux.CgroupsPath); len(d) > 0 {
			t.Errorf("%s: cgroup made: %v", who, d)
		}
		if n := len(mountsUnder(x.bundle)); n != mountsBefore {
			t.Errorf("%s: %d mounts under the bundle, %d before", who, n, mountsBefore)
		}
		if p := hosttest.PidsInCgroup(x.spec.Linux.CgroupsPath); len(p) > 0 {
			t.Errorf("%s: processes in the cgroup: %v", who, p)
		}
		for _, f := range []string{filepath.Join(rootfs, "ran"), filepath.Join(x.bundle, "hook-ran"), filepath.Join(rootfs, "dev/null")} {
			if _, err := os.Lstat(f); err == nil {
				t.Errorf("%s: %s exists: the dry run did something", who, f)
			}
		}
	}

	r := x.run("--trace", "json", "--trace-file", trace, "run", "--dry-run", "--bundle", x.bundle, "dry")
	check("root", r)
	evs := traceOf(t, trace)
	for _, e := range evs {
		if e.Source != "plan" || e.Result != "planned" || e.TookUS != 0 {
			t.Errorf("dry-run event is not a plan: %+v", e)
		}
	}
	memFile := "memory.limit_in_bytes=33554432 in "
	if cgroupV2 {
		memFile = "memory.max=33554432 in "
	}
	for _, want := range []func(runtime.TraceEvent) bool{
		op("cgroup.write", memFile, x.spec.Linux.CgroupsPath),
		op("clone", "CLONE_NEWPID", "CLONE_NEWNS"),
		op("mount", "-t proc proc "+rootfs+"/proc"),
		op("hook", "createRuntime #0 /bin/sh"),
		op("pivot_root", "(in "+rootfs+")"),
		op("mount", "--bind /dev/null /proc/kcore"),
		op("capset", "bounding="),
		op("seccomp", "default SCMP_ACT_ERRNO"),
		op("execve", "/bin/sh -c echo must not run"),
		op("open+read", "exec.fifo"),
	} {
		i := find(evs, 0, want)
		if i < 0 {
			t.Errorf("a planned step is missing from the dry run")
			continue
		}
		t.Logf("planned: %s %s", evs[i].Op, evs[i].Args)
	}

	// Without root: the plan needs no privilege.
	for _, d := range []string{filepath.Dir(x.bundle), filepath.Dir(filepath.Dir(x.bundle))} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The suite's binary sits in a 0700 directory: give nobody a copy it can execute.
	bin := filepath.Join(filepath.Dir(x.bundle), "hull")
	if b, err := os.ReadFile(hullBin); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copy hull for nobody: %v", err)
	}
	cmd := exec.Command(bin, "--root", x.root, "run", "--dry-run", "--bundle", x.bundle, "dry")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	r = x.runCmd(cmd, nil, []string{"run", "--dry-run"})
	check("nobody", r)
	for _, has := range []string{"$ cd " + rootfs + " && pivot_root . .", "$ echo 33554432 > ", "why: "} {
		if !strings.Contains(r.stdout, has) {
			t.Errorf("nobody's dry run output lacks %q:\n%s", has, r.stdout)
		}
	}

	// A bad bundle is refused with one line, and still nothing is made.
	x.spec.Process.Capabilities.Bounding = append(x.spec.Process.Capabilities.Bounding, "CAP_NO_SUCH")
	x.writeSpec()
	x.refused(x.run("run", "--dry-run", "--bundle", x.bundle, "dry"), "dry run of a bad spec", "CAP_NO_SUCH")
	if _, err := os.Stat(x.root); !os.IsNotExist(err) {
		t.Errorf("the state root exists after a refused dry run")
	}
}
