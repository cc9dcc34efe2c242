//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// running starts a container that sleeps and returns its init's host pid.
func (x *h) running(id string) int {
	x.t.Helper()
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, id)
	x.ok("start", id)
	return int(x.state(id)["pid"].(float64))
}

func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestExecJoinsEverything: an exec'd process shares every namespace and the cgroup of the
// container's init and is confined like it (capabilities, no_new_privs, seccomp), as read from
// the host's /proc.
func TestExecJoinsEverything(t *testing.T) {
	x := newH(t, "sleep", "1000")
	initPid := x.running("ex")
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	x.ok("exec", "--detach", "--pid-file", pidFile, "ex", "sleep", "1000")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(string(b))
	for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net", "cgroup"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", initPid, ns))
		e, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if a == "" || a != e {
			t.Errorf("%s namespace: init %q, exec'd process %q", ns, a, e)
		}
	}
	ic, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", initPid))
	ec, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if string(ic) != string(ec) || !strings.Contains(string(ec), x.spec.Linux.CgroupsPath) {
		t.Errorf("cgroups differ:\ninit %s\nexec %s", ic, ec)
	}
	for _, f := range []string{"CapEff", "CapBnd", "CapPrm", "NoNewPrivs", "Seccomp", "Uid"} {
		if a, e := procStatus(t, initPid, f), procStatus(t, pid, f); a != e {
			t.Errorf("%s: init %q, exec'd process %q", f, a, e)
		}
	}
	ps := x.ok("ps", "--format", "json", "ex")
	var pids []int
	if err := json.Unmarshal([]byte(ps), &pids); err != nil || len(pids) != 2 {
		t.Errorf("ps after exec = %s (%v), want the init and the exec'd process", ps, err)
	}
	x.ok("delete", "--force", "ex")
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
		if z := procStatus(t, pid, "State"); !strings.HasPrefix(z, "Z") {
			t.Errorf("the exec'd process %d outlived delete --force (%s)", pid, z)
		}
	}
}

func TestExecForeground(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.running("fg")
	r := x.run("exec", "--user", "1000:1000", "--cwd", "/tmp", "--env", "FOO=bar", "fg", "sh", "-c", "id -u; id -g; pwd; echo $FOO; exit 7")
	if r.code != 7 || r.stdout != "1000\n1000\n/tmp\nbar\n" {
		t.Fatalf("exec: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = x.run("exec", "fg", "/nonexistent")
	if r.code == 0 || !strings.Contains(r.stderr, "no such file or directory") {
		t.Fatalf("exec of a missing executable: exit %d stderr %q", r.code, r.stderr)
	}
	x.ok("delete", "--force", "fg")
}

// TestExecProcessFile: the --process JSON that containerd and conmon pass, with its own
// capabilities and no_new_privs.
func TestExecProcessFile(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.running("pf")
	p := specs.Process{
		Args: []string{"sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status"},
		Env:  []string{"PATH=/bin"}, Cwd: "/",
		Capabilities:    &specs.LinuxCapabilities{Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"}},
		NoNewPrivileges: false,
	}
	b, _ := json.Marshal(p)
	f := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := x.ok("exec", "--process", f, "pf")
	if !strings.Contains(out, "CapEff:\t0000000000000001") || !strings.Contains(out, "NoNewPrivs:\t0") {
		t.Fatalf("exec --process: %q", out)
	}
	x.ok("delete", "--force", "pf")
}

func TestExecRefused(t *testing.T) {
	x := newH(t, "true")
	x.running("done")
	deadline := time.Now().Add(10 * time.Second)
	for x.state("done")["status"] != "stopped" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r := x.run("exec", "done", "true"); r.code == 0 || !strings.Contains(r.stderr, "stopped") {
		t.Errorf("exec in a stopped container: exit %d stderr %q", r.code, r.stderr)
	}
	if r := x.run("exec", "nosuch", "true"); r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("exec in an unknown container: exit %d stderr %q", r.code, r.stderr)
	}
	x.ok("delete", "done")
}
