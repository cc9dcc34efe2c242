package namespaces

import (
	"errors"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestCloneFlagsOnlyNewOnes(t *testing.T) {
	nss := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.NetworkNamespace, Path: "/var/run/netns/x"},
		{Type: specs.MountNamespace},
		{Type: specs.UserNamespace},
	}
	got := CloneFlags(nss)
	want := uintptr(unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUSER)
	if got != want {
		t.Fatalf("CloneFlags = %#x, want %#x", got, want)
	}
	if d := Describe(got); d != "CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNS" {
		t.Fatalf("Describe = %q", d)
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		nss  []specs.LinuxNamespace
		err  string
	}{
		{"all eight", []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}, {Type: "uts"}, {Type: "ipc"}, {Type: "network"}, {Type: "user"}, {Type: "cgroup"}, {Type: "time"}}, ""},
		{"unknown", []specs.LinuxNamespace{{Type: "bogus"}}, "not known"},
		{"duplicate", []specs.LinuxNamespace{{Type: "pid"}, {Type: "pid", Path: "/proc/1/ns/pid"}}, "more than once"},
	}
	for _, c := range cases {
		err := Validate(c.nss)
		if (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.err)
		}
	}
}

func TestToJoinPutsMountLast(t *testing.T) {
	nss := []specs.LinuxNamespace{{Type: "mount", Path: "/m"}, {Type: "pid"}, {Type: "network", Path: "/n"}, {Type: "ipc", Path: "/i"},
		{Type: "time", Path: "/t"}, {Type: "user", Path: "/u"}}
	got := ToJoin(nss)
	if len(got) != 3 || got[2].Type != specs.MountNamespace || got[0].Type != specs.NetworkNamespace {
		t.Fatalf("ToJoin = %+v", got)
	}
	alone := ToJoinAlone(nss)
	if len(alone) != 2 || alone[0].Path != "/u" || alone[1].Path != "/t" {
		t.Fatalf("ToJoinAlone = %+v, want user then time", alone)
	}
	if got := ToJoinAlone([]specs.LinuxNamespace{{Type: "user"}, {Type: "time"}, {Type: "mount", Path: "/m"}}); len(got) != 0 {
		t.Fatalf("ToJoinAlone of new namespaces = %+v, want none", got)
	}
}

func TestValidateMappings(t *testing.T) {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	cases := []struct {
		name string
		l    specs.Linux
		ok   bool
	}{
		{"new userns with maps", specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "user"}}, UIDMappings: m, GIDMappings: m}, true},
		{"new userns without maps", specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "user"}}}, false},
		{"maps without userns", specs.Linux{UIDMappings: m, GIDMappings: m}, false},
		{"zero size", specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "user"}}, UIDMappings: []specs.LinuxIDMapping{{Size: 0}}, GIDMappings: m}, false},
	}
	for _, c := range cases {
		if err := ValidateMappings(&c.l); (err == nil) != c.ok {
			t.Errorf("%s: err = %v", c.name, err)
		}
	}
	got := IDMappings(m)
	if len(got) != 1 || got[0].HostID != 1000 || got[0].Size != 1 {
		t.Fatalf("IDMappings = %+v", got)
	}
}

func TestJoinRejectsWrongTypeAndUser(t *testing.T) {
	rec := nopRecorder{}
	for _, k := range []specs.LinuxNamespaceType{"user", "time"} {
		if err := Join(specs.LinuxNamespace{Type: k, Path: "/proc/self/ns/" + procName[k]}, rec); !errors.Is(err, ErrSingleThreaded) {
			t.Fatalf("%s join err = %v", k, err)
		}
	}
	// /proc/self/ns/uts is a uts namespace; asking for it as a network namespace must fail before setns.
	err := Join(specs.LinuxNamespace{Type: "network", Path: "/proc/self/ns/uts"}, rec)
	if err == nil || !strings.Contains(err.Error(), "is not a network namespace") {
		t.Fatalf("wrong-type join err = %v", err)
	}
	// A regular file is not a namespace at all.
	err = Join(specs.LinuxNamespace{Type: "network", Path: "/proc/self/status"}, rec)
	if err == nil || !strings.Contains(err.Error(), "is not a namespace file") {
		t.Fatalf("non-namespace join err = %v", err)
	}
}

func TestInspectSelf(t *testing.T) {
	got, err := Inspect(1)
	if err != nil {
		// pid 1's links need privilege; our own never do.
		got, err = Inspect(unix.Getpid())
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got[specs.NetworkNamespace], "net:[") {
		t.Fatalf("Inspect = %v", got)
	}
}

func TestOpenAndOurs(t *testing.T) {
	f, err := Open(specs.LinuxNamespace{Type: "user", Path: "/proc/self/ns/user"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if ours, err := Ours(f, "user"); err != nil || !ours {
		t.Fatalf("Ours(own user namespace) = %v, %v", ours, err)
	}
	if _, err := Open(specs.LinuxNamespace{Type: "user", Path: "/proc/self/ns/net"}); err == nil || !strings.Contains(err.Error(), "is not a user namespace") {
		t.Fatalf("Open of a net namespace as user: %v", err)
	}
}
