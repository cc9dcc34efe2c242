//go:build integration

package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// checks is a script printing key=value lines about the container it runs in.
const checks = `B=/bin/busybox
echo "procfs=$($B stat -f -c %T /proc)"
echo "tmp=$($B grep ' /tmp ' /proc/self/mountinfo | $B grep -o 'size=[0-9a-z]*')"
if $B touch /data/x 2>/dev/null; then echo data=rw; else echo data=ro; fi
echo "datafile=$($B cat /data/hello)"
echo "hostsfile=$($B cat /etc/hosts)"
echo "secret=$($B wc -c < /secret.txt)"
echo "uptime=$($B wc -c < /proc/uptime)"
echo "secretdir=$($B ls -A /secretdir | $B wc -l)"
if $B touch /rodir/x 2>/dev/null; then echo rodir=rw; else echo rodir=ro; fi
if $B touch /newfile 2>/dev/null; then echo root=rw; else echo root=ro; fi
if $B touch /tmp/x 2>/dev/null; then echo tmpw=rw; else echo tmpw=ro; fi
echo "procsys=$($B grep ' /proc/sys ' /proc/self/mountinfo | $B awk '{print $6}' | $B cut -d, -f1)"
for d in null zero full random urandom tty fuse; do echo "dev_$d=$($B stat -c '%F %t:%T %a %u:%g' /dev/$d)"; done
for l in fd stdin stdout stderr ptmx core; do echo "link_$l=$($B readlink /dev/$l)"; done
echo "zero=$($B head -c 4 /dev/zero | $B wc -c)"
echo "pid=$$"
$B awk '{print "mnt=" $5}' /proc/self/mountinfo
`

func TestMountPivotFinish(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	host := t.TempDir()
	mustWrite(t, filepath.Join(host, "data", "hello"), "from the host")
	mustWrite(t, filepath.Join(host, "hosts"), "127.0.0.1 localhost")
	mustWrite(t, filepath.Join(root, "secret.txt"), "top secret")
	mustWrite(t, filepath.Join(root, "secretdir", "key"), "also secret")
	if err := os.MkdirAll(filepath.Join(root, "rodir"), 0o755); err != nil {
		t.Fatal(err)
	}
	mode, uid, gid := os.FileMode(0o600), uint32(1000), uint32(1001)
	spec := &specs.Spec{
		Version: specs.Version,
		Root:    &specs.Root{Path: root, Readonly: true},
		Mounts: append(baseMounts(),
			specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "size=1m"}},
			specs.Mount{Destination: "/data", Source: filepath.Join(host, "data"), Options: []string{"rbind", "ro", "nosuid"}},
			specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: filepath.Join(host, "hosts"), Options: []string{"bind", "ro"}},
		),
		Linux: &specs.Linux{
			Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid, GID: &gid}},
			MaskedPaths:   []string{"/proc/kcore", "/proc/uptime", "/secret.txt", "/secretdir", "/does/not/exist"},
			ReadonlyPaths: []string{"/proc/sys", "/rodir", "/not/there/either"},
		},
	}
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: checks})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	v := r.vars()
	want(t, v, "procfs", "proc")
	want(t, v, "pid", "1")
	want(t, v, "tmp", "size=1024k")
	want(t, v, "data", "ro")
	want(t, v, "datafile", "from the host")
	want(t, v, "hostsfile", "127.0.0.1 localhost")
	want(t, v, "secret", "0")
	want(t, v, "secretdir", "0")
	want(t, v, "uptime", "0")
	want(t, v, "rodir", "ro")
	want(t, v, "root", "ro")
	want(t, v, "tmpw", "rw")
	want(t, v, "procsys", "ro")
	want(t, v, "zero", "4")
	for name, d := range map[string][4]int{
		"null": {1, 3, 0o666, 0}, "zero": {1, 5, 0o666, 0}, "full": {1, 7, 0o666, 0},
		"random": {1, 8, 0o666, 0}, "urandom": {1, 9, 0o666, 0}, "tty": {5, 0, 0o666, 0},
	} {
		want(t, v, "dev_"+name, fmt.Sprintf("character special file %x:%x %o 0:0", d[0], d[1], d[2]))
	}
	want(t, v, "dev_fuse", "character special file a:e5 600 1000:1001")
	for name, target := range map[string]string{
		"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
		"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore",
	} {
		want(t, v, "link_"+name, target)
	}
	// Only the container's own mounts are left: the old root is gone.
	expected := []string{"/", "/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/tmp",
		"/data", "/etc/hosts", "/proc/uptime", "/secret.txt", "/secretdir", "/proc/sys", "/rodir"}
	if _, err := os.Stat("/proc/kcore"); err == nil {
		expected = append(expected, "/proc/kcore") // masked only where the kernel has one
	}
	wantMounts(t, v["mnt"], expected)
	for _, step := range []string{"step: mount --make-rslave /", "step: pivot_root", "step: umount2 -l .",
		"step: mount -t tmpfs tmpfs " + root + "/tmp -o nosuid,nodev,size=1m", "step: mknod -m 666 " + root + "/dev/null c 1 3"} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("no %q in the recorded steps", step)
		}
	}
}

// wantMounts checks the container's mount points are exactly the expected ones.
func wantMounts(t *testing.T, got, expected []string) {
	t.Helper()
	g := append([]string(nil), got...)
	e := append([]string(nil), expected...)
	sort.Strings(g)
	sort.Strings(e)
	if strings.Join(g, " ") != strings.Join(e, " ") {
		t.Errorf("container mount points:\n got %v\nwant %v", g, e)
	}
}

func TestNoPivot(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	outside := filepath.Join(filepath.Dir(root), "outside-marker")
	mustWrite(t, outside, "host only")
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: baseMounts()[:2]}
	script := `B=/bin/busybox
echo "procfs=$($B stat -f -c %T /proc)"
echo "root=$($B ls / | $B tr '\n' ' ')"
echo "dotdot=$($B ls /../../.. | $B tr '\n' ' ')"
echo "null=$($B stat -c '%t:%T' /dev/null)"
$B awk '{print "mnt=" $5}' /proc/self/mountinfo
`
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Options: Options{NoPivot: true}, Script: script})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	v := r.vars()
	want(t, v, "procfs", "proc")
	want(t, v, "root", "bin dev etc proc sys tmp ")
	want(t, v, "dotdot", "bin dev etc proc sys tmp ")
	want(t, v, "null", "1:3")
	wantMounts(t, v["mnt"], []string{"/", "/proc", "/dev"})
	if !strings.Contains(r.stderr, "step: mount --move "+root+" /") || !strings.Contains(r.stderr, "step: chroot .") {
		t.Errorf("no MS_MOVE + chroot in the recorded steps")
	}
}

func TestCgroupMount(t *testing.T) {
	noMountLeak(t)
	root := newRootfs(t)
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc"},
		{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
	}}
	script := `B=/bin/busybox
echo "fstype=$($B stat -f -c %T /sys/fs/cgroup)"
if $B mkdir /sys/fs/cgroup/hull-test 2>/dev/null; then echo top=rw; else echo top=ro; fi
for d in /sys/fs/cgroup/*/; do
  if $B mkdir "$d/hull-test" 2>/dev/null; then echo "sub=rw $d"; else echo sub=ro; fi
done
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo v2=yes; fi
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then echo v1memory=yes; fi
`
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Script: script})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	v := r.vars()
	want(t, v, "top", "ro")
	if len(v["v2"]) == 0 && len(v["v1memory"]) == 0 {
		t.Errorf("neither a cgroup2 root nor a v1 memory hierarchy at /sys/fs/cgroup")
	}
	for _, s := range v["sub"] {
		if s != "ro" {
			t.Errorf("cgroup hierarchy writable: %s", s)
		}
	}
}

// Given the mount table the namespace was copied from (Options.HostMountinfo, as the runtime
// passes it), a v1 cgroup mount takes its hierarchies from that table and not from the
// namespace's own: here a table holding only the memory hierarchy.
func TestCgroupMountFromGivenTable(t *testing.T) {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err != nil || st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("a cgroup v2 host: the table is read for v1 hierarchies only")
	}
	noMountLeak(t)
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var table []string
	for _, line := range strings.Split(string(mi), "\n") {
		if _, post, ok := strings.Cut(line, " - "); ok && strings.HasPrefix(post, "cgroup ") && !strings.HasSuffix(post, ",memory") {
			continue
		}
		table = append(table, line)
	}
	root := newRootfs(t)
	spec := &specs.Spec{Version: specs.Version, Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
	}}
	script := `B=/bin/busybox
echo "dirs=$($B ls /sys/fs/cgroup | $B tr '\n' ' ')"
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then echo v1memory=yes; fi
`
	r := runJob(t, helperJob{Spec: spec, Rootfs: root, Options: Options{HostMountinfo: strings.Join(table, "\n")}, Script: script})
	if r.code != 0 {
		t.Fatalf("helper exited %d", r.code)
	}
	v := r.vars()
	want(t, v, "dirs", "memory ")
	want(t, v, "v1memory", "yes")
}
