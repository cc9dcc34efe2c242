//go:build integration

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bad input must be refused with one clear line on stderr and a non-zero exit, and leave nothing:
// no state dir, cgroup directory, mount or process (the leak check after each test proves the
// rest).

// refused fails the test unless r is a failure with exactly one line on stderr that contains every
// part of want.
func (x *h) refused(r result, what string, want ...string) {
	x.t.Helper()
	if r.code == 0 {
		x.t.Errorf("%s: exit 0, want a failure (stdout %q, stderr %q)", what, r.stdout, r.stderr)
		return
	}
	x.t.Logf("%s: exit %d: %s", what, r.code, strings.TrimSpace(r.stderr))
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || strings.TrimSpace(r.stderr) == "" {
		x.t.Errorf("%s: want exactly one line on stderr, got %q", what, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			x.t.Errorf("%s: stderr %q does not contain %q", what, r.stderr, w)
		}
	}
}

// nothingLeft checks, beyond the leak check, that no hierarchy holds the container's cgroup
// and that hull lists no container.
func (x *h) nothingLeft() {
	x.t.Helper()
	if dirs := cgroupDirs(x.spec.Linux.CgroupsPath); len(dirs) > 0 {
		x.t.Errorf("cgroup dirs left: %v", dirs)
	}
	if out := x.ok("list", "-q"); out != "" {
		x.t.Errorf("list -q after a failed create: %q", out)
	}
}

func TestBadInputCreate(t *testing.T) {
	hook := func(x *h) string {
		return writeScript(t, filepath.Join(t.TempDir(), "fail.sh"), "#!/bin/sh\necho hook says no\nexit 7\n")
	}
	for _, c := range []struct {
		name  string
		setup func(x *h) // after the default spec is in place, before writeSpec
		write bool       // write config.json after setup
		id    string
		want  []string
	}{
		{"truncated config.json", func(x *h) {
			x.writeSpec()
			cfg := filepath.Join(x.bundle, "config.json")
			b, _ := os.ReadFile(cfg)
			if err := os.WriteFile(cfg, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, false, "", []string{"config.json"}},
		{"missing config.json", func(x *h) {}, false, "", []string{"config.json", "no such file or directory"}},
		{"missing rootfs", func(x *h) {
			if err := os.RemoveAll(filepath.Join(x.bundle, "rootfs")); err != nil {
				t.Fatal(err)
			}
		}, true, "", []string{"rootfs", "no such file or directory"}},
		{"rootfs is a file", func(x *h) {
			rootfs := filepath.Join(x.bundle, "rootfs")
			if err := os.RemoveAll(rootfs); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(rootfs, []byte("not a dir"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true, "", []string{"rootfs", "not a directory"}},
		{"ociVersion 2.0.0", func(x *h) { x.spec.Version = "2.0.0" }, true, "", []string{"ociVersion", "2.0.0"}},
		{"ociVersion 1.0", func(x *h) { x.spec.Version = "1.0" }, true, "", []string{"ociVersion", "1.0"}},
		{"unknown capability", func(x *h) {
			x.spec.Process.Capabilities.Bounding = append(x.spec.Process.Capabilities.Bounding, "CAP_BOGUS")
		}, true, "", []string{"CAP_BOGUS"}},
		{"unknown rlimit", func(x *h) {
			x.spec.Process.Rlimits = append(x.spec.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, true, "", []string{"RLIMIT_BOGUS"}},
		{"relative cwd", func(x *h) { x.spec.Process.Cwd = "tmp" }, true, "", []string{"cwd", "absolute"}},
		{"hostname without uts namespace", func(x *h) {
			var nss []specs.LinuxNamespace
			for _, ns := range x.spec.Linux.Namespaces {
				if ns.Type != specs.UTSNamespace {
					nss = append(nss, ns)
				}
			}
			x.spec.Linux.Namespaces = nss
		}, true, "", []string{"hostname", "uts"}},
		// Docker and podman map these texts to exit 127 and 126; runc fails at create.
		{"missing executable", func(x *h) { x.spec.Process.Args = []string{"/nonexistent"} }, true, "",
			[]string{"/nonexistent", "no such file or directory"}},
		{"bare name not in PATH", func(x *h) { x.spec.Process.Args = []string{"nonexistent-cmd"} }, true, "",
			[]string{"nonexistent-cmd", "executable file not found"}},
		{"non-executable file", func(x *h) {
			if err := os.WriteFile(filepath.Join(x.bundle, "rootfs", "notexec"), []byte("#!/bin/sh\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			x.spec.Process.Args = []string{"/notexec"}
		}, true, "", []string{"/notexec", "permission denied"}},
		{"directory as executable", func(x *h) { x.spec.Process.Args = []string{"/tmp"} }, true, "", []string{"/tmp", "permission denied"}},
		// A missing cwd is created, as runc does (TestMissingCwdCreated); one that can't be is refused.
		{"cwd under a file", func(x *h) { x.spec.Process.Cwd = "/bin/busybox/sub" }, true, "", []string{"/bin/busybox/sub", "not a directory"}},
		{"unknown filesystem type", func(x *h) {
			x.spec.Mounts = append(x.spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bogusfs", Source: "none"})
		}, true, "", []string{"/mnt"}},
		{"terminal without console socket", func(x *h) { x.spec.Process.Terminal = true }, true, "", []string{"console-socket"}},
		{"failing createRuntime hook", func(x *h) {
			x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: hook(x)}}}
		}, true, "", []string{"createRuntime", "hook says no"}},
		{"invalid id", func(x *h) {}, true, "../x", []string{"invalid container id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := newH(t, "true")
			c.setup(x)
			if c.write {
				x.writeSpec()
			}
			id := c.id
			if id == "" {
				id = "bad"
			}
			x.refused(x.run("create", "--bundle", x.bundle, id), "create", c.want...)
			x.nothingLeft()
		})
	}
}

// TestBadInputRun: run fails the same way, before anything ran.
func TestBadInputRun(t *testing.T) {
	x := newH(t, "/nonexistent")
	x.writeSpec()
	x.refused(x.run("run", "--bundle", x.bundle, "bad"), "run", "/nonexistent", "no such file or directory")
	x.refused(x.run("run", "--detach", "--bundle", x.bundle, "bad"), "run --detach", "/nonexistent", "no such file or directory")
	x.nothingLeft()
}

// TestBadInputUnknownID: every command on an unknown id says "does not exist" (the shims match
// that text) and exits 1.
func TestBadInputUnknownID(t *testing.T) {
	x := newH(t, "true")
	for _, args := range [][]string{
		{"state", "nope"}, {"start", "nope"}, {"kill", "nope"}, {"kill", "nope", "15"}, {"kill", "--all", "nope", "9"},
		{"delete", "nope"}, {"pause", "nope"}, {"resume", "nope"}, {"ps", "nope"}, {"ps", "--format", "json", "nope"},
	} {
		r := x.run(args...)
		if r.code != 1 {
			t.Errorf("%q: exit %d, want 1", args, r.code)
		}
		x.refused(r, strings.Join(args, " "), "does not exist", "nope")
	}
	x.ok("delete", "--force", "nope")
	x.nothingLeft()
}

// TestBadInputInvalidID: an id that is no plain name is refused by every command as invalid,
// before any path is built from it (runc's rule).
func TestBadInputInvalidID(t *testing.T) {
	x := newH(t, "true")
	x.writeSpec()
	for _, args := range [][]string{
		{"create", "--bundle", x.bundle, "../x"}, {"state", "../x"}, {"start", "../x"}, {"kill", "../x", "9"},
		{"delete", "../x"}, {"delete", "--force", "../x"}, {"pause", "../x"}, {"resume", "../x"}, {"ps", "../x"},
	} {
		x.refused(x.run(args...), strings.Join(args, " "), "invalid container id")
	}
	x.nothingLeft()
}

// TestBadInputMisuse: lifecycle requests a container's state does not allow fail clearly and
// change nothing.
func TestBadInputMisuse(t *testing.T) {
	x := newH(t, "sleep", "1000")
	x.writeSpec()
	x.ok("create", "--bundle", x.bundle, "c")
	status := func(want string) {
		t.Helper()
		if got := x.state("c")["status"]; got != want {
			t.Fatalf("status %v, want %s", got, want)
		}
	}
	x.refused(x.run("create", "--bundle", x.bundle, "c"), "duplicate create", "exists")
	status("created")
	x.refused(x.run("pause", "c"), "pause of a created container", "created")
	x.refused(x.run("resume", "c"), "resume of a created container", "created")
	status("created")
	x.ok("start", "c")
	status("running")
	x.refused(x.run("start", "c"), "start of a running container", "running")
	x.refused(x.run("resume", "c"), "resume of a running container", "running")
	status("running")
	x.ok("kill", "c", "KILL")
	x.waitStopped("c")
	x.refused(x.run("start", "c"), "start of a stopped container", "stopped")
	x.refused(x.run("pause", "c"), "pause of a stopped container", "stopped")
	x.refused(x.run("kill", "c", "15"), "kill of a stopped container", "container not running")
	status("stopped")
	x.ok("delete", "c")
	x.nothingLeft()
}
