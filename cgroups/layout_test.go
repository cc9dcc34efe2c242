package cgroups

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestParseMountinfo(t *testing.T) {
	for _, tc := range []struct {
		file, mode, unified, v1Root string
		v1                          map[string]string
		mounts                      []string
	}{
		{
			file: "mountinfo-hybrid", mode: "hybrid", unified: "/sys/fs/cgroup/unified", v1Root: "/sys/fs/cgroup",
			v1: map[string]string{
				"systemd": "/sys/fs/cgroup/systemd", "cpuset": "/sys/fs/cgroup/cpuset", "cpu": "/sys/fs/cgroup/cpu",
				"cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory", "devices": "/sys/fs/cgroup/devices",
				"freezer": "/sys/fs/cgroup/freezer", "pids": "/sys/fs/cgroup/pids", "blkio": "/sys/fs/cgroup/blkio",
			},
			mounts: []string{
				"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct",
				"/sys/fs/cgroup/memory", "/sys/fs/cgroup/devices", "/sys/fs/cgroup/freezer", "/sys/fs/cgroup/pids",
				"/sys/fs/cgroup/blkio", "/sys/fs/cgroup/unified",
			},
		},
		{
			file: "mountinfo-v2", mode: "v2", unified: "/sys/fs/cgroup", v1: map[string]string{},
			mounts: []string{"/sys/fs/cgroup"},
		},
		{
			// cpu and cpuacct share a mount, so do net_cls and net_prio; misc and name=other
			// are hierarchies hull does not join.
			file: "mountinfo-v1", mode: "v1", v1Root: "/sys/fs/cgroup",
			v1: map[string]string{
				"systemd": "/sys/fs/cgroup/systemd", "cpu": "/sys/fs/cgroup/cpu,cpuacct", "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
				"memory": "/sys/fs/cgroup/memory", "net_cls": "/sys/fs/cgroup/net_cls,net_prio",
				"net_prio": "/sys/fs/cgroup/net_cls,net_prio", "cpuset": "/sys/fs/cgroup/cpuset",
			},
			mounts: []string{
				"/sys/fs/cgroup/systemd", "/sys/fs/cgroup/cpuset", "/sys/fs/cgroup/cpu,cpuacct",
				"/sys/fs/cgroup/memory", "/sys/fs/cgroup/net_cls,net_prio",
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open("testdata/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			lay, err := parseMountinfo(f)
			if err != nil {
				t.Fatal(err)
			}
			if lay.mode != tc.mode || lay.unified != tc.unified || lay.v1Root != tc.v1Root {
				t.Errorf("mode, unified, v1Root = %q %q %q, want %q %q %q", lay.mode, lay.unified, lay.v1Root, tc.mode, tc.unified, tc.v1Root)
			}
			if !maps.Equal(lay.v1, tc.v1) {
				t.Errorf("v1 = %v, want %v", lay.v1, tc.v1)
			}
			if got := lay.mounts(); !slices.Equal(got, tc.mounts) {
				t.Errorf("mounts = %v, want %v", got, tc.mounts)
			}
		})
	}
}

func TestParseMountinfoNoCgroups(t *testing.T) {
	_, err := parseMountinfo(strings.NewReader("22 1 0:21 / / rw,relatime - ext4 /dev/vda1 rw\n"))
	if err == nil {
		t.Fatal("no error for a host without cgroup mounts")
	}
}

func TestParseMountinfoSplitV1Roots(t *testing.T) {
	in := "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n" +
		"33 31 0:30 / /run/cg/memory rw - cgroup cgroup rw,memory\n"
	if _, err := parseMountinfo(strings.NewReader(in)); err == nil {
		t.Fatal("no error for v1 mounts under two different directories")
	}
}

func TestUnescapeMount(t *testing.T) {
	for in, want := range map[string]string{
		`/sys/fs/cgroup`:       "/sys/fs/cgroup",
		`/mnt/my\040cgroups`:   "/mnt/my cgroups",
		`/mnt/tab\011and\134x`: "/mnt/tab\tand\\x",
		`/mnt/short\04`:        `/mnt/short\04`,
		`/mnt/not\999octal`:    `/mnt/not\999octal`,
	} {
		if got := unescapeMount(in); got != want {
			t.Errorf("unescapeMount(%q) = %q, want %q", in, got, want)
		}
	}
}

// HostMountinfo is the table the layout was parsed from: this process's mount table.
func TestHostMountinfo(t *testing.T) {
	lay, err := hostLayout()
	if err != nil {
		t.Skipf("no cgroup filesystem here: %v", err)
	}
	got, err := HostMountinfo()
	if err != nil {
		t.Fatal(err)
	}
	own, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(own) {
		t.Errorf("HostMountinfo differs from /proc/self/mountinfo:\n%s\nvs\n%s", got, own)
	}
	again, err := parseMountinfo(strings.NewReader(got))
	if err != nil || again.mode != lay.mode || !maps.Equal(again.v1, lay.v1) || again.unified != lay.unified {
		t.Errorf("the table parses to %+v (%v), the layout is %+v", again, err, lay)
	}
}
