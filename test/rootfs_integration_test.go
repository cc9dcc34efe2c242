//go:build integration

package test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRootfsMounts(t *testing.T) {
	x := newH(t)
	roDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(roDir, "hello"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A host directory with a submount: rbind carries it into the container, bind does not.
	tree := t.TempDir()
	sub := filepath.Join(tree, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(sub, syscall.MNT_DETACH) })
	x.spec.Mounts = append(x.spec.Mounts,
		specs.Mount{Destination: "/mnt/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m", "mode=710"}},
		specs.Mount{Destination: "/mnt/ro", Type: "bind", Source: roDir, Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/mnt/rbind", Type: "bind", Source: tree, Options: []string{"rbind"}},
		specs.Mount{Destination: "/mnt/bind", Type: "bind", Source: tree, Options: []string{"bind"}},
	)
	out := x.sh("mounts", `cat /proc/self/mountinfo; echo "== probe"; stat -c %a /mnt/tmp; cat /mnt/ro/hello
touch /mnt/ro/x 2>&1 || true`)
	m := parseMountinfo(out)
	check := func(point, fstype string, opts, super []string) {
		t.Helper()
		e, ok := m[point]
		if !ok {
			t.Errorf("no mount at %s", point)
			return
		}
		if fstype != "" && e.fstype != fstype {
			t.Errorf("%s: type %s, want %s", point, e.fstype, fstype)
		}
		for _, o := range opts {
			if !hasOpt(e.opts, o) {
				t.Errorf("%s: mount options %q lack %s", point, e.opts, o)
			}
		}
		for _, o := range super {
			if !hasOpt(e.super, o) {
				t.Errorf("%s: superblock options %q lack %s", point, e.super, o)
			}
		}
	}
	check("/mnt/tmp", "tmpfs", []string{"nosuid", "nodev"}, []string{"size=1024k", "mode=710"})
	check("/mnt/ro", "", []string{"ro"}, nil)
	check("/mnt/rbind", "", []string{"rw"}, nil)
	check("/mnt/rbind/sub", "tmpfs", nil, nil)
	check("/mnt/bind", "", nil, nil)
	if _, ok := m["/mnt/bind/sub"]; ok {
		t.Errorf("a non-recursive bind carried the submount along")
	}
	check("/proc", "proc", nil, nil)
	check("/sys", "sysfs", []string{"ro", "nosuid", "nodev", "noexec"}, nil)
	check("/dev", "tmpfs", []string{"nosuid"}, []string{"mode=755"})
	check("/dev/pts", "devpts", []string{"nosuid", "noexec"}, []string{"ptmxmode=666", "mode=620", "gid=5"})
	check("/dev/shm", "tmpfs", []string{"nosuid", "nodev", "noexec"}, []string{"size=65536k"})
	check("/dev/mqueue", "mqueue", []string{"nosuid", "nodev", "noexec"}, nil)
	cg := false
	for p, e := range m {
		if strings.HasPrefix(p, "/sys/fs/cgroup") && (e.fstype == "cgroup" || e.fstype == "cgroup2") {
			cg = true
			if !hasOpt(e.opts, "ro") {
				t.Errorf("cgroup mount %s is not read-only: %s", p, e.opts)
			}
		}
	}
	if !cg {
		t.Errorf("no cgroup filesystem under /sys/fs/cgroup")
	}
	got := section(out, "probe")
	want := []string{"710", "hi", "touch: /mnt/ro/x: Read-only file system"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("probe = %q, want %q", got, want)
	}
}

// sharedMount makes dir a shared mount point of its own (cleaned up with the test).
func sharedMount(t *testing.T, dir string) {
	t.Helper()
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	if err := syscall.Mount("", dir, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
}

func TestRootfsPropagation(t *testing.T) {
	x := newH(t)
	d := t.TempDir()
	sharedMount(t, d)
	x.spec.Mounts = append(x.spec.Mounts,
		specs.Mount{Destination: "/mnt/slave", Type: "bind", Source: d, Options: []string{"rbind", "rslave"}},
		specs.Mount{Destination: "/mnt/shared", Type: "bind", Source: d, Options: []string{"rbind", "rshared"}},
		specs.Mount{Destination: "/mnt/private", Type: "bind", Source: d, Options: []string{"rbind", "rprivate"}},
	)
	m := parseMountinfo(x.sh("propagation", "cat /proc/self/mountinfo"))
	for point, want := range map[string]string{"/mnt/slave": "master:", "/mnt/shared": "shared:", "/mnt/private": ""} {
		e, ok := m[point]
		switch {
		case !ok:
			t.Errorf("no mount at %s", point)
		case want == "" && e.optional != "":
			t.Errorf("%s: propagation %q, want private", point, e.optional)
		case want != "" && !strings.Contains(e.optional, want):
			t.Errorf("%s: propagation %q, want %s", point, e.optional, want)
		}
	}

	// rootfsPropagation: with the bundle on a shared mount, "slave" keeps a master, "private" none.
	for prop, want := range map[string]string{"slave": "master:", "private": ""} {
		t.Run(prop, func(t *testing.T) {
			x := newH(t)
			sharedMount(t, x.bundle)
			x.spec.Linux.RootfsPropagation = prop
			root := parseMountinfo(x.sh("rootprop", "cat /proc/self/mountinfo"))["/"]
			if want == "" && root.optional != "" || want != "" && !strings.Contains(root.optional, want) {
				t.Errorf("rootfsPropagation %s: / has propagation %q, want %q", prop, root.optional, want)
			}
		})
	}
}

func TestRootfsReadonlyMaskedPaths(t *testing.T) {
	x := newH(t)
	x.spec.Root.Readonly = true
	out := x.sh("ro", `touch /x 2>&1; touch /tmp/x 2>&1
echo "== masked"; stat -c '%F %t:%T' /proc/timer_list; wc -c </proc/timer_list; ls -A /sys/firmware | wc -l
echo "== readonly"; echo 77 2>&1 >/proc/sys/net/ipv4/ip_default_ttl; cat /proc/sys/net/ipv4/ip_default_ttl`)
	got := lines(out)
	if len(got) < 2 || got[0] != "touch: /x: Read-only file system" || got[1] != "touch: /tmp/x: Read-only file system" {
		t.Errorf("root.readonly: %q, want both touches refused", got)
	}
	// This kernel has no /proc/kcore; /proc/timer_list is masked the same way (/dev/null over it).
	if m := section(out, "masked"); strings.Join(m, "|") != "character special file 1:3|0|0" {
		t.Errorf("masked paths: %q, want /proc/timer_list to be an empty /dev/null and /sys/firmware empty", m)
	}
	if r := section(out, "readonly"); len(r) != 2 || !strings.Contains(r[0], "Read-only file system") || r[1] != "64" {
		t.Errorf("readonly /proc/sys: %q, want the write refused", r)
	}
}

func TestRootfsDevices(t *testing.T) {
	x := newH(t)
	mode := os.FileMode(0o640)
	uid, gid := uint32(1000), uint32(1000)
	x.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}}
	out := x.sh("devices", `for d in null zero full random urandom tty fuse; do stat -c '%n %F %t:%T %a %u:%g' /dev/$d; done
echo "== links"; for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done`)
	want := map[string]string{
		"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
		"/dev/urandom": "1:9", "/dev/tty": "5:0", "/dev/fuse": "a:e5",
	}
	seen := 0
	for _, l := range lines(out) {
		if l == "== links" {
			break
		}
		f := strings.SplitN(l, " ", 2)
		w, ok := want[f[0]]
		if !ok {
			t.Errorf("unexpected line %q", l)
			continue
		}
		seen++
		if !strings.HasPrefix(f[1], "character special file "+w+" ") {
			t.Errorf("%s: %q, want a character device %s", f[0], f[1], w)
		}
		if f[0] == "/dev/fuse" && !strings.HasSuffix(f[1], " 640 1000:1000") {
			t.Errorf("/dev/fuse: %q, want mode 640 owned by 1000:1000", f[1])
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d devices, want %d:\n%s", seen, len(want), out)
	}
	links := section(out, "links")
	wantLinks := []string{"fd /proc/self/fd", "stdin /proc/self/fd/0", "stdout /proc/self/fd/1", "stderr /proc/self/fd/2", "ptmx pts/ptmx"}
	if strings.Join(links, "\n") != strings.Join(wantLinks, "\n") {
		t.Errorf("links = %q, want %q", links, wantLinks)
	}
}

func TestRootfsNoPivot(t *testing.T) {
	x := newH(t, "sh", "-c", `ls -A /; echo "== up"; ls -A /..; echo "== mountinfo"; cat /proc/self/mountinfo`)
	x.writeSpec()
	r := x.run("run", "--no-pivot", "--bundle", x.bundle, "nopivot")
	if r.code != 0 {
		t.Fatalf("hull run --no-pivot: exit %d: %s", r.code, r.stderr)
	}
	ents, err := os.ReadDir(filepath.Join(x.bundle, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range ents {
		want = append(want, e.Name())
	}
	sort.Strings(want)
	var root []string
	for _, l := range lines(r.stdout) {
		if l == "== up" {
			break
		}
		root = append(root, l)
	}
	if strings.Join(root, " ") != strings.Join(want, " ") {
		t.Errorf("ls / = %q, want the rootfs's %q", root, want)
	}
	if up := section(r.stdout, "up"); strings.Join(up, " ") != strings.Join(want, " ") {
		t.Errorf("ls /.. = %q, want the rootfs's %q", up, want)
	}
	// The host's root mount (root "/" of the host's root filesystem, the same st_dev) must not
	// be reachable. Not the same source and type: on a VM whose / is a tmpfs, every tmpfs is
	// "tmpfs tmpfs".
	host := parseMountinfo(mustRead(t, "/proc/self/mountinfo"))["/"]
	inside := strings.Join(section(r.stdout, "mountinfo"), "\n")
	for _, e := range parseMountinfo(inside) {
		if e.root == "/" && e.dev == host.dev {
			t.Errorf("the host's root filesystem is visible at %s", e.point)
		}
	}
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
