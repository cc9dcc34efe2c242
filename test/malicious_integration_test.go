//go:build integration

package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These bundles try to make hull act on the host instead of the container. Whatever hull does —
// refuse, or keep the mount inside the rootfs — the host must be untouched.

// canaryDir makes a host directory with one file in it, and returns a check that it still holds
// exactly that file and is no mount point on the host.
func canaryDir(t *testing.T) (string, func()) {
	t.Helper()
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "canary"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	return d, func() {
		t.Helper()
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "canary" || mustRead(t, filepath.Join(d, "canary")) != "host" {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("host dir %s changed: %q", d, names)
		}
		if _, ok := parseMountinfo(mustRead(t, "/proc/self/mountinfo"))[d]; ok {
			t.Errorf("host dir %s became a mount point", d)
		}
	}
}

// escapeAttempt runs a container with a tmpfs at dst that, followed naively, is the host dir.
// The container writes into dst and reports where the tmpfs is. If hull accepts the bundle, the
// tmpfs must be at want inside the container.
func escapeAttempt(t *testing.T, x *h, dst, want string) {
	t.Helper()
	x.spec.Mounts = append(x.spec.Mounts, specs.Mount{Destination: dst, Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	x.spec.Process.Args = []string{"sh", "-c", fmt.Sprintf(`echo pwned >%q/pwned; stat -f -c %%T %q; grep -c ' %s ' /proc/self/mountinfo`, want, want, want)}
	r := x.runContainer("escape")
	if r.code != 0 {
		t.Logf("refused (exit %d): %s", r.code, strings.TrimSpace(r.stderr))
		return
	}
	if got := lines(r.stdout); strings.Join(got, " ") != "tmpfs 1" {
		t.Errorf("the tmpfs is not at %s inside the container: %q (stderr %s)", want, got, r.stderr)
	}
}

func TestMaliciousSymlinkDestination(t *testing.T) {
	x := newH(t)
	host, check := canaryDir(t)
	// rootfs/evil -> /<host dir>: resolved on the host, it points at the host dir.
	if err := os.Symlink(host, filepath.Join(x.bundle, "rootfs/evil")); err != nil {
		t.Fatal(err)
	}
	escapeAttempt(t, x, "/evil", host)
	check()
}

func TestMaliciousSymlinkInPath(t *testing.T) {
	x := newH(t)
	host, check := canaryDir(t)
	// A symlinked parent: rootfs/up -> /, then /up/<host dir>/m.
	if err := os.Symlink("/", filepath.Join(x.bundle, "rootfs/up")); err != nil {
		t.Fatal(err)
	}
	escapeAttempt(t, x, "/up"+host, host)
	check()
}

func TestMaliciousDotDotDestination(t *testing.T) {
	x := newH(t)
	host, check := canaryDir(t)
	// filepath.Join(rootfs, dst) of this is the host dir itself.
	dst := strings.Repeat("/..", 20) + host
	escapeAttempt(t, x, dst, host)
	check()
}

func TestMaliciousProcSymlink(t *testing.T) {
	x := newH(t, "true")
	host, check := canaryDir(t)
	proc := filepath.Join(x.bundle, "rootfs/proc")
	if err := os.Remove(proc); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, proc); err != nil {
		t.Fatal(err)
	}
	r := x.runContainer("procsymlink")
	if r.code == 0 {
		t.Fatalf("a rootfs whose /proc is a symlink to %s was accepted", host)
	}
	if !strings.Contains(r.stderr, "proc") {
		t.Errorf("the error does not say what is wrong: %s", r.stderr)
	}
	t.Logf("refused: %s", strings.TrimSpace(r.stderr))
	check()
}

func TestMaliciousRuntimeBinaryUnreachable(t *testing.T) {
	x := newH(t, "sh", "-c", "readlink /proc/self/exe; readlink /proc/1/exe")
	const id = "exe"
	out := x.create(id)
	pid := x.initPid(id)
	exe := fmt.Sprintf("/proc/%d/exe", pid)
	link, err := os.Readlink(exe)
	if err != nil {
		t.Fatal(err)
	}
	// The waiting init runs from a sealed memfd: it is not the runtime binary on disk.
	if !strings.HasPrefix(link, "/memfd:") {
		t.Errorf("the created container's init runs %q, want a memfd", link)
	}
	if a, err := os.Stat(exe); err == nil {
		if b, err := os.Stat(hullBin); err == nil && os.SameFile(a, b) {
			t.Errorf("the created container's init is the runtime binary %s", hullBin)
		}
	}
	// Opening it for writing, as CVE-2019-5736 did, must not reach the binary either.
	if f, err := os.OpenFile(exe, os.O_WRONLY, 0); err == nil {
		_, werr := f.Write([]byte("#!"))
		f.Close()
		if werr == nil {
			t.Errorf("wrote to the created container's executable %s", link)
		}
	}
	x.ok("start", id)
	x.waitStopped(id)
	x.ok("delete", id)
	if got := lines(mustRead(t, out)); strings.Join(got, " ") != "/bin/busybox /bin/busybox" {
		t.Errorf("inside, /proc/self/exe and /proc/1/exe are %q, want /bin/busybox", got)
	}
}

func TestMaliciousNoHostFdLeak(t *testing.T) {
	x := newH(t, "sh", "-c", "ls /proc/$$/fd; readlink /proc/$$/cwd")
	x.writeSpec()
	// Extra fds in hull's own process must not reach the container's process.
	f1, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer f1.Close()
	f2, err := os.Open(x.bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	cmd := exec.Command(hullBin, "--root", x.root, "run", "--bundle", x.bundle, "fds")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Dir = &out, &errb, x.bundle
	cmd.ExtraFiles = []*os.File{f1, f2}
	timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Run(); err != nil {
		t.Fatalf("hull run: %v: %s", err, errb.String())
	}
	got := lines(out.String())
	if len(got) != 4 || strings.Join(got[:3], " ") != "0 1 2" || got[3] != "/" {
		t.Errorf("the container's shell has fds %q (and cwd), want only 0 1 2 and /", got)
	}
}
