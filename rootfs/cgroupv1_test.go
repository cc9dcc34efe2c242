package rootfs

import (
	"reflect"
	"strings"
	"testing"
)

const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:7 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 /ns /mnt/odd\040dir rw - cgroup cgroup rw,pids
`

const procSelfCgroup = `9:name=systemd:/user.slice
8:pids:/ns/c1
4:memory:/process_api/11bf
2:cpu,cpuacct:/
0::/user.slice
`

func TestV1Hierarchies(t *testing.T) {
	got, err := v1Hierarchies(hybridMountinfo, procSelfCgroup)
	if err != nil {
		t.Fatal(err)
	}
	want := []v1Hierarchy{
		{mountpoint: "/sys/fs/cgroup/cpu,cpuacct", root: "/", subsystems: []string{"cpu", "cpuacct"}, path: "/"},
		{mountpoint: "/sys/fs/cgroup/memory", root: "/", subsystems: []string{"memory"}, path: "/process_api/11bf"},
		{mountpoint: "/sys/fs/cgroup/systemd", root: "/", subsystems: []string{"name=systemd"}, path: "/user.slice"},
		{mountpoint: "/mnt/odd dir", root: "/ns", subsystems: []string{"pids"}, path: "/ns/c1"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	dirs := []string{"/sys/fs/cgroup/cpu,cpuacct", "/sys/fs/cgroup/memory/process_api/11bf", "/sys/fs/cgroup/systemd/user.slice", "/mnt/odd dir/c1"}
	for i, h := range got {
		if d, err := h.dir(); err != nil || d != dirs[i] {
			t.Errorf("%s: dir = %q, %v; want %q", h.mountpoint, d, err, dirs[i])
		}
	}
}

func TestV1HierarchiesErrors(t *testing.T) {
	if _, err := v1Hierarchies(hybridMountinfo, "0::/\n"); err == nil || !strings.Contains(err.Error(), "no line in the process's cgroup file") {
		t.Errorf("err = %v, want a missing-line error", err)
	}
	h := v1Hierarchy{mountpoint: "/sys/fs/cgroup/pids", root: "/a", path: "/b"}
	if _, err := h.dir(); err == nil || !strings.Contains(err.Error(), "cgroup namespace") {
		t.Errorf("err = %v, want one about the cgroup namespace", err)
	}
	if got, err := v1Hierarchies("garbage\n\n1 2 3\n", ""); err != nil || got != nil {
		t.Errorf("got %v, %v from garbage", got, err)
	}
}

func TestV2Dir(t *testing.T) {
	for in, want := range map[string]string{
		"0::/\n":                         "/sys/fs/cgroup",
		"0::/hull/c1\n":                  "/sys/fs/cgroup/hull/c1",
		"12:pids:/x\n0::/user.slice/a\n": "/sys/fs/cgroup/user.slice/a",
		"0::/../../etc\n":                "/sys/fs/cgroup/etc",
	} {
		if got, err := v2Dir("/sys/fs/cgroup", in); err != nil || got != want {
			t.Errorf("v2Dir(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := v2Dir("/sys/fs/cgroup", "12:pids:/x\n"); err == nil {
		t.Error("v2Dir without a 0:: line: no error")
	}
}
