package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCgroupPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "/hull/web-1"},
		{"/docker/abc", "/docker/abc"},
		{"/libpod_parent/libpod-x/", "/libpod_parent/libpod-x"},
		{"//a/./b/../c", "/a/c"},
		{"/../../etc", "/etc"},
		{"mygroup/web", "/hull/mygroup/web"},
		// A relative path must stay under /hull, as runc's CleanPath keeps it under the parent.
		{"a/../../../escape", "/hull/escape"},
	} {
		s := &specs.Spec{Linux: &specs.Linux{CgroupsPath: c.in}}
		if got := cgroupPath("web-1", s); got != c.want {
			t.Errorf("cgroupPath(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestHostRoot(t *testing.T) {
	if u, g := hostRoot(&specs.Linux{}); u != 0 || g != 0 {
		t.Errorf("no mappings: %d:%d", u, g)
	}
	l := &specs.Linux{
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 1, HostID: 5000, Size: 10}, {ContainerID: 0, HostID: 100000, Size: 1}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 1}},
	}
	if u, g := hostRoot(l); u != 100000 || g != 200000 {
		t.Errorf("mapped: %d:%d, want 100000:200000", u, g)
	}
}
