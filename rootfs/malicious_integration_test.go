//go:build integration

package rootfs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bundles that try to make the runtime mount or create things outside their rootfs.
// Symlinks are resolved as if the rootfs were "/" (RESOLVE_IN_ROOT), so they are
// contained: the mount lands inside the rootfs, at the path the symlink names there.

func TestSymlinkedDestinationStaysInRootfs(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	hostDir := t.TempDir()
	relTarget := filepath.Join(hostDir, "rel-target")
	absTarget := filepath.Join(hostDir, "abs-target")
	for _, d := range []string{relTarget, absTarget, filepath.Join(root, relTarget), filepath.Join(root, absTarget)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := t.TempDir()
	mustWrite(t, filepath.Join(src, "marker"), "bound")
	links := map[string]string{
		"evil-etc": "/../../../../../../etc",                  // climbs out, lands on the rootfs's /etc
		"evil-rel": "../../../../../../../../../" + relTarget, // relative climb to a host path
		"evil-abs": absTarget,                                 // absolute host path
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/evil-etc", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/evil-rel", Type: "tmpfs", Source: "tmpfs"},
		{Destination: "/evil-abs", Source: src, Options: []string{"bind", "ro"}},
	}}
	script := `B=/bin/busybox
$B touch /evil-rel/pwned /evil-etc/pwned
echo "abs=$($B cat /evil-abs/marker)"
$B awk '{print "mnt=" $5}' /proc/self/mountinfo
`
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: script,
		NotMounted: []string{"/etc", relTarget, absTarget}})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	v := r.vars()
	want(t, v, "abs", "bound")
	// Inside the container the mounts sit at the host-looking paths, within the rootfs.
	wantMounts(t, v["mnt"], []string{"/", "/proc", "/etc", relTarget, absTarget})
	for _, d := range []string{relTarget, absTarget} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("host directory %s was written to: %v", d, entries)
		}
	}
	if _, err := os.Stat("/etc/pwned"); err == nil {
		t.Errorf("/etc/pwned exists on the host")
	}
}

// A symlink whose target does not exist inside the rootfs is refused: the runtime does
// not create directories a symlink points at.
func TestDanglingSymlinkDestinationRefused(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	hostTarget := t.TempDir()
	if err := os.Symlink(hostTarget, filepath.Join(root, "evil")); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/evil", Type: "tmpfs", Source: "tmpfs"},
	}}
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: "echo should-not-run", NotMounted: []string{hostTarget}})
	if r.code != 3 || !strings.Contains(r.stderr, "HELPER-ERROR: mount tmpfs on /evil: create /evil in rootfs:") {
		t.Fatalf("exit %d, want a refusal to create /evil", r.code)
	}
	if _, err := os.Stat(filepath.Join(root, hostTarget)); err == nil {
		t.Errorf("the symlink's target was created inside the rootfs")
	}
}

func TestProcSymlinkRefused(t *testing.T) {
	for name, target := range map[string]string{
		"inside":  "/tmp",
		"escape":  "../../../../../../../proc",
		"hostabs": "/proc",
	} {
		t.Run(name, func(t *testing.T) {
			noMountLeak(t)
			root := newRootfs(t)
			if err := os.Remove(filepath.Join(root, "proc")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, filepath.Join(root, "proc")); err != nil {
				t.Fatal(err)
			}
			spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: baseMounts()[:2]}
			r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: "echo should-not-run"})
			if r.code != 3 {
				t.Fatalf("helper exited %d, want 3 (refused)", r.code)
			}
			if !strings.Contains(r.stderr, "mount proc on /proc: /proc is a symlink in the rootfs: unsafe path") {
				t.Errorf("no clear refusal in stderr")
			}
		})
	}
}

func TestSymlinkedDevStaysInRootfs(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	hostDev := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, hostDev), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(root, "dev")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(hostDev, filepath.Join(root, "dev")); err != nil {
		t.Fatal(err)
	}
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root},
		Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux:  &specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/loop-control", Type: "c", Major: 10, Minor: 237}}},
	}
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: `/bin/busybox stat -c 'null=%t:%T' /dev/null`})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	want(t, r.vars(), "null", "1:3")
	if entries, _ := os.ReadDir(hostDev); len(entries) != 0 {
		t.Errorf("device nodes created on the host in %s: %v", hostDev, entries)
	}
	if _, err := os.Lstat(filepath.Join(root, hostDev, "null")); err != nil {
		t.Errorf("device not created inside the rootfs: %v", err)
	}
}

func TestMountErrorContext(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/x", Type: "nosuchfs", Source: "none"},
	}}
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: "echo should-not-run"})
	if r.code != 3 || !strings.Contains(r.stderr, "HELPER-ERROR: mount nosuchfs on /x: no such device") {
		t.Errorf("exit %d; want the error \"mount nosuchfs on /x: no such device\"", r.code)
	}
}
