//go:build integration

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRunExitCodes(t *testing.T) {
	x := newH(t, "/bin/true")
	if r := x.runContainer("true"); r.code != 0 {
		t.Fatalf("run /bin/true: exit %d, stderr %s", r.code, r.stderr)
	}
	x.spec.Process.Args = []string{"sh", "-c", "echo out; echo err >&2; exit 3"}
	r := x.runContainer("three")
	if r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Fatalf("run exit 3: got code %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestRunKilledFromOutside: `hull run` reports a process killed by SIGKILL as 137, like a shell.
// (From inside, the kernel protects a pid namespace's init from SIGKILL.)
func TestRunKilledFromOutside(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	cmd := x.cmd("run", "--bundle", x.bundle, "victim")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for x.run("state", "victim").stdout == "" || x.state("victim")["status"] != "running" {
		if time.Now().After(deadline) {
			t.Fatal("container never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	x.ok("kill", "victim", "SIGKILL")
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 137 {
		t.Fatalf("run of a SIGKILLed process: exit %d (%v), want 137", code, err)
	}
}

// TestLifecycle walks create → start → kill → delete and checks each state in between, the
// pid file, and that the user's process runs only after start.
func TestLifecycle(t *testing.T) {
	x := newH(t, "sh", "-c", "echo started > /share/marker; exec sleep 1000")
	share := x.hostDir("/share")
	x.writeSpec()
	pidFile := filepath.Join(t.TempDir(), "pid")
	x.ok("create", "--bundle", x.bundle, "--pid-file", pidFile, "c1")

	st := x.state("c1")
	if st["status"] != "created" {
		t.Fatalf("after create: status %v", st["status"])
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	if float64(pid) != st["pid"] || pid <= 0 {
		t.Fatalf("pid file %q, state pid %v", b, st["pid"])
	}
	if st["bundle"] != x.bundle || st["id"] != "c1" || st["ociVersion"] == "" {
		t.Fatalf("state: %v", st)
	}
	// Until start, the user's process has not run, and the host's hull binary is not what runs.
	if _, err := os.Stat(filepath.Join(share, "marker")); err == nil {
		t.Fatal("the process ran before start")
	}
	if exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe"); !strings.Contains(exe, "memfd:") {
		t.Fatalf("the waiting init runs %q, want a sealed memfd", exe)
	}
	x.ok("start", "c1")
	if st := x.state("c1"); st["status"] != "running" {
		t.Fatalf("after start: status %v", st["status"])
	}
	waitFile(t, filepath.Join(share, "marker"))
	if r := x.run("start", "c1"); r.code == 0 {
		t.Fatal("start of a running container succeeded")
	}
	if r := x.run("delete", "c1"); r.code == 0 || !strings.Contains(r.stderr, "not stopped") {
		t.Fatalf("delete of a running container without --force: code %d stderr %q", r.code, r.stderr)
	}
	x.ok("kill", "c1", "KILL")
	x.waitStopped("c1")
	if st := x.state("c1"); st["pid"] != float64(0) {
		t.Fatalf("stopped container reports pid %v", st["pid"])
	}
	if r := x.run("kill", "c1", "9"); r.code == 0 || !strings.Contains(r.stderr, "container not running") {
		t.Fatalf("kill of a stopped container: code %d stderr %q", r.code, r.stderr)
	}
	x.ok("kill", "--all", "c1", "9") // containerd's shim sends this after exit and wants success
	x.ok("delete", "c1")
	if r := x.run("state", "c1"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("state after delete: code %d stderr %q", r.code, r.stderr)
	}
	x.ok("delete", "--force", "c1") // gone already: still success
	if r := x.run("delete", "c1"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("plain delete of a gone container: code %d stderr %q", r.code, r.stderr)
	}
}

func TestDeleteCreatedAndForce(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "created")
	x.ok("delete", "created") // runc kills a created container on plain delete
	x.ok("create", "--bundle", x.bundle, "running")
	x.ok("start", "running")
	t0 := time.Now()
	x.ok("delete", "--force", "running")
	t.Logf("delete --force of a running container took %v", time.Since(t0))
}

// TestDeleteKillsStrangerInCgroup: a process moved into a container's cgroup by hand is not in
// its pid namespace, so the kernel does not end it with the init; delete kills it and removes
// the cgroup all the same. (On a hybrid host, moved into a v1 hierarchy alone, it is out of
// reach of the cgroup2 side's cgroup.kill: cgroups' v1 Kill kills it by pid.)
func TestDeleteKillsStrangerInCgroup(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "host")
	x.ok("start", "host")
	dirs := cgroupDirs(x.spec.Linux.CgroupsPath)
	if len(dirs) == 0 {
		t.Fatal("the container has no cgroup")
	}
	stranger := exec.Command("sleep", "1000")
	if err := stranger.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- stranger.Wait() }()
	t.Cleanup(func() {
		_ = stranger.Process.Kill()
		<-done
	})
	// One hierarchy is enough to keep the cgroup busy (pids on v1: every hull cgroup has it).
	dir := dirs[0]
	for _, d := range dirs {
		if strings.Contains(d, "/pids/") {
			dir = d
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(stranger.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	x.ok("kill", "host", "KILL")
	x.waitStopped("host")
	x.ok("delete", "host")
	select {
	case err := <-done:
		done <- err // for the cleanup
		if ws, ok := stranger.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Errorf("the stranger ended with %v, want killed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("delete left the stranger in the container's cgroup running")
	}
	if left := cgroupDirs(x.spec.Linux.CgroupsPath); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

func TestDuplicateID(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "dup")
	r := x.run("create", "--bundle", x.bundle, "dup")
	if r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Fatalf("second create with the same id: code %d stderr %q", r.code, r.stderr)
	}
	if x.state("dup")["status"] != "created" {
		t.Fatal("the failed duplicate create harmed the first container")
	}
	x.ok("delete", "--force", "dup")
}

// TestConfigChangeAfterCreate: the config is read once, at create.
func TestConfigChangeAfterCreate(t *testing.T) {
	x := newH(t, "sh", "-c", "echo first > /share/out")
	share := x.hostDir("/share")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "cfg")
	x.spec.Process.Args = []string{"sh", "-c", "echo second > /share/out"}
	x.writeSpec()
	x.ok("start", "cfg")
	waitFile(t, filepath.Join(share, "out"))
	x.waitStopped("cfg")
	if b, _ := os.ReadFile(filepath.Join(share, "out")); string(b) != "first\n" {
		t.Fatalf("the process came from the edited config: %q", b)
	}
	x.ok("delete", "cfg")
}

// TestNoProcess: a config without process can be created; start fails clearly and changes nothing.
func TestNoProcess(t *testing.T) {
	x := newH(t, "true")
	x.spec.Process = nil
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "noproc")
	r := x.run("start", "noproc")
	if r.code == 0 || !strings.Contains(r.stderr, "process") {
		t.Fatalf("start without process: code %d stderr %q", r.code, r.stderr)
	}
	if st := x.state("noproc"); st["status"] != "created" {
		t.Fatalf("failed start changed the state to %v", st["status"])
	}
	x.ok("delete", "--force", "noproc")
}

// TestCreateInheritsStdio: the container's process writes to the stdout create was given.
func TestCreateInheritsStdio(t *testing.T) {
	x := newH(t, "sh", "-c", "echo to-stdout; echo to-stderr >&2")
	x.writeSpec()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "out"))
	errF, _ := os.Create(filepath.Join(dir, "err"))
	defer outF.Close()
	defer errF.Close()
	cmd := x.cmd("create", "--bundle", x.bundle, "stdio")
	cmd.Stdout, cmd.Stderr = outF, errF
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "err"))
		t.Fatalf("create: %v %s", err, b)
	}
	x.ok("start", "stdio")
	x.waitStopped("stdio")
	x.ok("delete", "stdio")
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	errb, _ := os.ReadFile(filepath.Join(dir, "err"))
	if string(out) != "to-stdout\n" || string(errb) != "to-stderr\n" {
		t.Fatalf("stdout %q stderr %q", out, errb)
	}
}

func TestList(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "l1")
	x.ok("create", "--bundle", x.bundle, "l2")
	if out := x.ok("list", "-q"); out != "l1\nl2\n" {
		t.Fatalf("list -q = %q", out)
	}
	if out := x.ok("list", "--format", "json"); !strings.Contains(out, `"id": "l1"`) || !strings.Contains(out, `"status": "created"`) {
		t.Fatalf("list --format json = %s", out)
	}
	x.ok("delete", "--force", "l1", "l2")
}

func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

// TestStartShortLivedProcess: a process that is over at once has still been started: `start`
// succeeds (it used to look for the init only after waking it, and found a zombie now and then).
// Repeated, as it was a race.
func TestStartShortLivedProcess(t *testing.T) {
	x := newH(t, "true")
	for i := range 40 {
		id := "short" + strconv.Itoa(i)
		x.create(id)
		if r := x.run("start", id); r.code != 0 {
			t.Fatalf("start #%d of a process that exits at once: exit %d, stderr %q", i, r.code, r.stderr)
		}
		x.ok("delete", "--force", id)
	}
}

// TestStartReturnsAfterExec: poststart hooks run "after the user-specified process is executed",
// so `start` waits for the execve (the stub's end of the exec fifo closes then), as runc's does:
// when it returns, the init is the user's program, not the stub. Repeated, as it was a race.
func TestStartReturnsAfterExec(t *testing.T) {
	x := newH(t, "sleep", "1000")
	for i := range 40 {
		id := "exec" + strconv.Itoa(i)
		x.create(id)
		pid := x.initPid(id)
		x.ok("start", id)
		exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		if err != nil || filepath.Base(exe) != "busybox" {
			t.Fatalf("start #%d returned while the init was %q (%v), not the user's sleep", i, exe, err)
		}
		x.ok("delete", "--force", id)
	}
}

// TestMissingCwdCreated: a process.cwd the rootfs lacks is created, as runc does, even when the
// root is then made read-only.
func TestMissingCwdCreated(t *testing.T) {
	x := newH(t, "pwd")
	x.spec.Process.Cwd = "/work/dir"
	x.spec.Root.Readonly = true
	r := x.runContainer("cwd")
	if r.code != 0 || r.stdout != "/work/dir\n" {
		t.Fatalf("run with a missing cwd: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestRlimitNofileInherited: without RLIMIT_NOFILE in the spec, the container gets the soft limit
// hull was started with, not the one Go raises for itself; with it, the spec's value.
func TestRlimitNofileInherited(t *testing.T) {
	x := newH(t, "sh", "-c", "ulimit -n")
	x.spec.Process.Rlimits = nil
	x.writeSpec()
	run := func(id string) string {
		cmd := exec.Command("prlimit", "--nofile=777:4096", hullBin, "--root", x.root, "run", "--bundle", x.bundle, id)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("run under prlimit: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("inherit"); got != "777" {
		t.Fatalf("soft NOFILE without a spec limit = %s, want 777 (hull's own at start)", got)
	}
	x.spec.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1000, Hard: 2000}}
	x.writeSpec()
	if got := run("spec"); got != "1000" {
		t.Fatalf("soft NOFILE with the spec's 1000 = %s", got)
	}
}

// TestCreateKilledInitDies: a `hull create` killed while the init is still being set up takes
// the init with it, however the init was cloned (a CLI create clones it from any thread,
// runtime.Runtime.OneShot): here hull is SIGKILLed while a createRuntime hook holds it and the
// init waits for word that the hooks ran. (The init meets EOF on its sync socket first; its
// parent-death signal covers the moments it is not reading it.)
func TestCreateKilledInitDies(t *testing.T) {
	x := newH(t, "true")
	dir := t.TempDir()
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Env: []string{"PATH=/usr/bin:/bin"},
		Args: []string{"sh", "-c", `sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' > ` + dir + `/init.tmp; echo $$ > ` + dir +
			`/hook; mv ` + dir + `/init.tmp ` + dir + `/init; exec sleep 100`}}}}
	x.writeSpec()
	cmd := x.cmd("create", "--bundle", x.bundle, "killed")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var initPid, hookPid int
	for deadline := time.Now().Add(10 * time.Second); initPid == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hook never reported the init's pid")
		}
		if b, err := os.ReadFile(filepath.Join(dir, "init")); err == nil {
			initPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			b, _ = os.ReadFile(filepath.Join(dir, "hook"))
			hookPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if hookPid > 0 {
		syscall.Kill(hookPid, syscall.SIGKILL) // the hook's sleep is this test's to end
	}
	defer func() {
		// What a killed create leaves (its cgroups, its state dir) is the test's to remove, once
		// the init is reaped: its new parent, not hull, does that.
		for range 500 {
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", initPid)); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		x.run("delete", "--force", "killed")
		// v1 (and hybrid): one directory per hierarchy; pure v2: the one under the root.
		dirs, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", x.spec.Linux.CgroupsPath))
		for _, d := range append(dirs, filepath.Join("/sys/fs/cgroup", x.spec.Linux.CgroupsPath)) {
			os.Remove(d)
		}
	}()
	for range 500 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", initPid))
		if i := strings.LastIndexByte(string(b), ')'); err != nil || i > 0 && strings.HasPrefix(string(b[i+1:]), " Z") {
			return // gone, or a zombie its new parent has yet to reap
		}
		time.Sleep(10 * time.Millisecond)
	}
	syscall.Kill(initPid, syscall.SIGKILL)
	t.Fatalf("init %d outlived the hull that was creating it", initPid)
}
