// Package hosttest holds what every root test suite of hull needs from the host: a hull binary
// built from this tree, a busybox-static root filesystem, and a look at which processes sit in a
// cgroup. It has no build tag so both the end-to-end and the client suites (and anyone's
// integration tests) share one copy; it only reads and builds, it never runs a container.
package hosttest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Hull returns the binary under test: $HULL_BIN when set (e.g. to point a suite at runc), else
// hull built into dir by the Makefile's own build target (`make build BIN=dir/hull`), so the
// tests run the binary users install, with the lean init embedded. pkg is the relative path
// from the test's package to cmd/hull.
func Hull(dir, pkg string) (string, error) {
	if b := os.Getenv("HULL_BIN"); b != "" {
		return b, nil
	}
	bin, err := filepath.Abs(filepath.Join(dir, "hull"))
	if err != nil {
		return "", err
	}
	repo := filepath.Join(pkg, "..", "..")
	cmd := exec.Command("make", "-s", "-C", repo, "build", "BIN="+bin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build: %v\n%s", err, out)
	}
	return bin, nil
}

// HullPlain builds hull into dir as a plain `go build ./cmd/hull` does: without the embedded
// init, so its containers start `hull init` (hull's own binary), the fallback that must keep
// working. $HULL_PLAIN_BIN, when set, is such a binary built elsewhere (the VM has no Go).
func HullPlain(dir, pkg string) (string, error) {
	if b := os.Getenv("HULL_PLAIN_BIN"); b != "" {
		return b, nil
	}
	bin := filepath.Join(dir, "hull-plain")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hull: %v\n%s", err, out)
	}
	return bin, nil
}

// BusyboxRootfs builds a minimal root filesystem from busybox-static: every applet linked in
// /bin, root and an unprivileged "user" (1000:1000) in /etc/passwd and /etc/group.
func BusyboxRootfs(dir string) error {
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "root", "home/user"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "/bin/busybox", filepath.Join(dir, "bin/busybox")).CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s (is busybox-static installed?)", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "bin/busybox"), "--list").Output()
	if err != nil {
		return err
	}
	for _, name := range strings.Fields(string(out)) {
		if name != "busybox" {
			_ = os.Symlink("busybox", filepath.Join(dir, "bin", name))
		}
	}
	files := map[string]string{
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
		"etc/group":  "root:x:0:\nuser:x:1000:\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// PidsInCgroup finds processes whose cgroup (in any hierarchy) is p or below it.
func PidsInCgroup(p string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	for _, f := range procs {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			parts := strings.SplitN(line, ":", 3)
			if len(parts) == 3 && (parts[2] == p || strings.HasPrefix(parts[2], p+"/")) {
				out = append(out, filepath.Base(filepath.Dir(f)))
				break
			}
		}
	}
	return out
}
