//go:build integration

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/initbin"
	"github.com/hullrt/hull/test/internal/hosttest"
)

// initExeHook makes a createRuntime hook record which binary the container's init runs: it
// runs on the host while the init waits for it, still the Go init (not yet the stub). A
// createContainer hook, which runs inside the container, keeps it on the init's way (most
// containers take the direct way, without an init: runtime/direct.go).
func (x *h) initExeHook(out string) {
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Env: []string{"PATH=/usr/bin:/bin"},
		Args: []string{"sh", "-c", `pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + out}}},
		CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
}

// TestInitEmbedded: the hull the tests build (make build) starts containers with hull-init, the
// lean init embedded in it, from a root-only copy under the state root; a copy that is not
// what hull wrote is written again; `list` does not take the cache for a container.
func TestInitEmbedded(t *testing.T) {
	x := newH(t, "true")
	exe := filepath.Join(t.TempDir(), "exe")
	x.initExeHook(exe)
	x.writeSpec()
	r := x.run("--debug", "run", "--bundle", x.bundle, "emb")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	cache := initbin.CacheDir(x.root)
	got := strings.TrimSpace(mustRead(t, exe))
	if filepath.Dir(got) != cache || !strings.HasPrefix(filepath.Base(got), "hull-init-") {
		t.Fatalf("the init ran %q, want the embedded init in %s", got, cache)
	}
	if !strings.Contains(r.stderr, "write "+got) || !strings.Contains(r.stderr, "open "+got) {
		t.Errorf("--debug does not show the init written and opened:\n%s", r.stderr)
	}
	check := func() {
		t.Helper()
		var st unix.Stat_t
		if err := unix.Stat(got, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mode&0o7777 != 0o555 || st.Uid != 0 || st.Nlink != 1 {
			t.Errorf("%s: mode %#o uid %d links %d, want 0555, root, 1", got, st.Mode&0o7777, st.Uid, st.Nlink)
		}
		if err := unix.Stat(cache, &st); err != nil || st.Mode&0o7777 != 0o700 {
			t.Errorf("%s: mode %#o (%v), want 0700", cache, st.Mode&0o7777, err)
		}
	}
	check()

	// A second container uses the copy as it is.
	r = x.run("--debug", "run", "--bundle", x.bundle, "emb2")
	if r.code != 0 || strings.Contains(r.stderr, "write "+got) || !strings.Contains(r.stderr, "open "+got) {
		t.Errorf("second run: exit %d, want the copy opened, not written:\n%s", r.code, r.stderr)
	}
	// One that someone changed is replaced before any init runs from it.
	if err := os.Chmod(got, 0o755); err != nil {
		t.Fatal(err)
	}
	r = x.run("--debug", "run", "--bundle", x.bundle, "emb3")
	if r.code != 0 || !strings.Contains(r.stderr, "write "+got) {
		t.Errorf("after chmod: exit %d, want the copy written again:\n%s", r.code, r.stderr)
	}
	check()
	if out := x.ok("list", "-q"); strings.TrimSpace(out) != "" {
		t.Errorf("list shows %q, want nothing", out)
	}
}

// TestInitFallback: a plain `go build ./cmd/hull` carries no init, and its containers start
// `hull init` from hull's own binary, as before the lean init existed.
func TestInitFallback(t *testing.T) {
	plain, err := hosttest.HullPlain(t.TempDir(), "../cmd/hull")
	if err != nil {
		t.Fatal(err)
	}
	x := newH(t, "sh", "-c", "echo fallback")
	exe := filepath.Join(t.TempDir(), "exe")
	x.initExeHook(exe)
	x.writeSpec()
	cmd := exec.Command(plain, "--root", x.root, "--debug", "run", "--bundle", x.bundle, "plain")
	cmd.Dir = x.bundle
	r := x.runCmd(cmd, nil, cmd.Args)
	if r.code != 0 || r.stdout != "fallback\n" {
		t.Fatalf("run: exit %d, stdout %q: %s", r.code, r.stdout, r.stderr)
	}
	if got := strings.TrimSpace(mustRead(t, exe)); got != plain {
		t.Errorf("the init ran %q, want hull's own binary %s", got, plain)
	}
	if strings.Contains(r.stderr, "hull-init") {
		t.Errorf("--debug mentions hull-init:\n%s", r.stderr)
	}
	if _, err := os.Stat(initbin.CacheDir(x.root)); err == nil {
		t.Errorf("%s exists: the plain build wrote an init", initbin.CacheDir(x.root))
	}
}

// TestInitNoexecRoot: many hosts mount /run noexec, where the copy cannot be executed as it
// is; hull runs it through a detached bind mount of it without noexec (and read-only).
func TestInitNoexecRoot(t *testing.T) {
	x := newH(t, "true")
	if err := os.MkdirAll(x.root, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", x.root, "tmpfs", unix.MS_NOEXEC|unix.MS_NOSUID|unix.MS_NODEV, "mode=0711"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(x.root, unix.MNT_DETACH) }) // runs before the leak check
	exe := filepath.Join(t.TempDir(), "exe")
	x.initExeHook(exe)
	x.writeSpec()
	r := x.run("--debug", "run", "--bundle", x.bundle, "noexec")
	if r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "open_tree "+initbin.CacheDir(x.root)) {
		t.Errorf("--debug shows no read-only clone of the init:\n%s", r.stderr)
	}
	// A detached mount of one file has no place in the tree: its path is its own root.
	if got := strings.TrimSpace(mustRead(t, exe)); got != "/" {
		t.Errorf("the init ran %q, want the detached mount of hull-init (\"/\")", got)
	}
}

// TestLeanHull: bin/hull is the lean build (cmd/hull/lean.go). runc's verbs on a plain bundle
// never run the full hull: no copy of it is ever written. hull's own verbs and containers on
// hull networks are handed to the full hull, which runs from a root-only copy beside the init's
// and answers with its own errors, leaving nothing behind.
func TestLeanHull(t *testing.T) {
	x := newH(t, "sleep", "100")
	x.writeSpec()
	fullCopies := func() []string {
		t.Helper()
		m, err := filepath.Glob(filepath.Join(initbin.CacheDir(x.root), "hull-full-*"))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	x.ok("create", "--bundle", x.bundle, "lean")
	x.ok("start", "lean")
	x.ok("state", "lean")
	x.ok("ps", "lean")
	x.ok("list")
	x.ok("kill", "lean", "KILL")
	x.waitStopped("lean")
	x.ok("delete", "lean")
	if m := fullCopies(); len(m) != 0 {
		t.Fatalf("runc's verbs ran the full hull: %v", m)
	}

	n := newNetHost(t, x)
	if out := n.ok("network", "ls"); !strings.HasPrefix(out, "NAME") {
		t.Errorf("network ls printed %q, want the table's header", out)
	}
	m := fullCopies()
	if len(m) != 1 {
		t.Fatalf("after network ls: copies of the full hull %v, want one", m)
	}
	var st unix.Stat_t
	if err := unix.Stat(m[0], &st); err != nil || st.Mode&0o7777 != 0o555 || st.Uid != 0 || st.Nlink != 1 {
		t.Errorf("%s: mode %#o uid %d links %d (%v), want 0555, root, 1", m[0], st.Mode&0o7777, st.Uid, st.Nlink, err)
	}

	// Only the full hull knows networks: its error, not the lean one's, and nothing is left.
	r := n.hull("create", "--bundle", x.bundle, "--network", "nosuch", "netc")
	if r.code == 0 || !strings.Contains(r.stderr, "network nosuch: not found") {
		t.Errorf("create on a missing network: exit %d, stderr %q; want the full hull's error", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(x.root, "netc")); !os.IsNotExist(err) {
		t.Errorf("create on a missing network left its state dir (%v)", err)
	}
}
