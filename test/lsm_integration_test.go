//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// requireAppArmor skips where the kernel has no AppArmor (this project's host kernels), and
// fails where the lane promises it (make vmtest sets HULL_TEST_APPARMOR: its Debian kernel has
// AppArmor on by default) or where the tools to load a profile are missing.
func requireAppArmor(t *testing.T) {
	t.Helper()
	b, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if len(b) == 0 || b[0] != 'Y' {
		if os.Getenv("HULL_TEST_APPARMOR") != "" {
			t.Fatal("HULL_TEST_APPARMOR is set but AppArmor is not enabled in this kernel (/sys/module/apparmor/parameters/enabled)")
		}
		t.Skip("AppArmor is not enabled in this kernel; make vmtest runs this test (its kernel has it)")
	}
	if _, err := os.Stat("/sys/kernel/security/apparmor/profiles"); err != nil {
		t.Fatalf("AppArmor is enabled but securityfs is not mounted: %v", err)
	}
	if _, err := exec.LookPath("apparmor_parser"); err != nil {
		t.Fatalf("AppArmor is enabled but apparmor_parser is missing (Debian package apparmor): %v", err)
	}
}

// loadProfile loads an enforcing profile that allows everything a container does except reading
// deny, and unloads it when the test ends.
func loadProfile(t *testing.T, name, deny string) string {
	t.Helper()
	src := fmt.Sprintf(`profile %s flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  signal,
  unix,
  ptrace,
  mount,
  umount,
  pivot_root,
  deny %s r,
}
`, name, deny)
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("apparmor_parser", "--replace", "--skip-cache", f).CombinedOutput(); err != nil {
		t.Fatalf("apparmor_parser --replace %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("apparmor_parser", "--remove", "--skip-cache", f).CombinedOutput(); err != nil {
			t.Errorf("apparmor_parser --remove %s: %v\n%s", name, err, out)
		}
	})
	return name
}

// attrCurrent is the AppArmor label of pid as the host sees it.
func attrCurrent(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/attr/apparmor/current", pid))
	if err != nil {
		b, err = os.ReadFile(fmt.Sprintf("/proc/%d/attr/current", pid))
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimRight(string(b), "\n\x00")
}

// processFile writes an OCI process for exec --process.
func processFile(t *testing.T, p specs.Process) string {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestExecAppArmor: the container's process runs under process.apparmorProfile, an exec'd one
// under the same profile unless its process JSON names another, and each profile's denial takes
// effect inside (the other's file stays readable, so the denial is the profile's doing).
func TestExecAppArmor(t *testing.T) {
	requireAppArmor(t)
	a := loadProfile(t, "hull-lsm-test-a", "/secret-a")
	b := loadProfile(t, "hull-lsm-test-b", "/secret-b")
	x := newH(t, "sleep", "1000")
	for _, f := range []string{"secret-a", "secret-b"} {
		if err := os.WriteFile(filepath.Join(x.bundle, "rootfs", f), []byte(f+" marker\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x.spec.Process.ApparmorProfile = a
	pid := x.running("aa")
	if got := attrCurrent(t, pid); got != a+" (enforce)" {
		t.Errorf("container process %d runs under %q, want %q", pid, got, a+" (enforce)")
	}

	// confinedAs checks a process started by run runs under want, which denies its own file
	// and leaves the other readable.
	confinedAs := func(how string, run func(args ...string) result, want string) {
		t.Helper()
		r := run("cat", "/proc/self/attr/current")
		if got := strings.TrimRight(r.stdout, "\n\x00"); r.code != 0 || got != want+" (enforce)" {
			t.Errorf("%s: exec'd process runs under %q (exit %d, %s), want %q", how, got, r.code, r.stderr, want+" (enforce)")
		}
		for _, f := range []string{"secret-a", "secret-b"} {
			r := run("cat", "/"+f)
			denied := strings.HasSuffix(want, f[len(f)-2:]) // hull-lsm-test-a denies secret-a
			switch {
			case denied && (r.code == 0 || !strings.Contains(r.stderr, "Permission denied")):
				t.Errorf("%s: cat /%s under %s: exit %d, stdout %q, stderr %q; want permission denied", how, f, want, r.code, r.stdout, r.stderr)
			case !denied && (r.code != 0 || r.stdout != f+" marker\n"):
				t.Errorf("%s: cat /%s under %s: exit %d, stdout %q, stderr %q; want it read", how, f, want, r.code, r.stdout, r.stderr)
			}
		}
	}
	confinedAs("exec ID CMD", func(args ...string) result { return x.run(append([]string{"exec", "aa"}, args...)...) }, a)
	// --process, as containerd and conmon pass it: without a profile it gets the container's.
	withProfile := func(profile string) func(args ...string) result {
		return func(args ...string) result {
			f := processFile(t, specs.Process{Args: args, Env: []string{"PATH=/bin"}, Cwd: "/", ApparmorProfile: profile})
			return x.run("exec", "--process", f, "aa")
		}
	}
	confinedAs("exec --process without a profile", withProfile(""), a)
	confinedAs("exec --process naming another profile", withProfile(b), b)

	// The narration names the write, as a step the stub takes once released.
	r := x.run("--explain", "exec", "aa", "true")
	if out := r.stdout + r.stderr; r.code != 0 || !strings.Contains(out, "exec "+a+" > /proc/thread-self/attr/") || !strings.Contains(out, "once released; planned") {
		t.Errorf("exec --explain: exit %d, output:\n%s", r.code, out)
	}
	// A profile the kernel has not loaded is refused before anything runs.
	f := processFile(t, specs.Process{Args: []string{"true"}, Env: []string{"PATH=/bin"}, Cwd: "/", ApparmorProfile: "hull-lsm-test-nosuch"})
	if r := x.run("exec", "--process", f, "aa"); r.code == 0 || !strings.Contains(r.stderr, `apparmor profile "hull-lsm-test-nosuch" is not loaded`) {
		t.Errorf("exec with a profile not loaded: exit %d, stderr %q", r.code, r.stderr)
	}
	x.ok("delete", "--force", "aa")
}

// TestLSMLabelSkipped: a label for a module the host does not have is not applied, as crun
// does, and --explain says it was skipped rather than staying silent. SELinux is enabled on neither of this project's lanes.
func TestLSMLabelSkipped(t *testing.T) {
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		t.Skip("SELinux is enabled here: a label is applied, not skipped")
	}
	x := newH(t, "sleep", "1000")
	x.spec.Process.SelinuxLabel = "system_u:system_r:container_t:s0:c1,c2"
	x.writeSpec()
	r := x.run("--explain", "create", "--bundle", x.bundle, "se")
	want := "system_u:system_r:container_t:s0:c1,c2 > /proc/thread-self/attr/exec (SELinux is not enabled on this host)  [stub, once released; skipped]"
	if out := r.stdout + r.stderr; r.code != 0 || !strings.Contains(out, want) {
		t.Errorf("create --explain: exit %d, want a line with %q in:\n%s", r.code, want, out)
	}
	x.ok("start", "se")
	r = x.run("--explain", "exec", "se", "true")
	if out := r.stdout + r.stderr; r.code != 0 || !strings.Contains(out, want) {
		t.Errorf("exec --explain: exit %d, want a line with %q in:\n%s", r.code, want, out)
	}
	x.ok("delete", "--force", "se")
}
