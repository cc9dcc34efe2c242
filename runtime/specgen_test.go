package runtime

import (
	"os"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDefaultSpec(t *testing.T) {
	s := DefaultSpec(false)
	if err := validateSpec(s); err != nil {
		t.Fatalf("DefaultSpec does not validate: %v", err)
	}
	if s.Version != specs.Version {
		t.Errorf("ociVersion %q, want %q", s.Version, specs.Version)
	}
	docker := []string{"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
		"CAP_SYS_CHROOT"}
	c := s.Process.Capabilities
	for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
		got := slices.Sorted(slices.Values(set))
		if !slices.Equal(got, docker) {
			t.Errorf("%s capabilities %v, want Docker's 14 %v", name, got, docker)
		}
	}
	if len(c.Ambient) != 0 || len(c.Inheritable) != 0 {
		t.Errorf("ambient %v, inheritable %v: want none", c.Ambient, c.Inheritable)
	}
	if !s.Process.NoNewPrivileges {
		t.Error("noNewPrivileges is off")
	}
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/acpi", "/proc/scsi"} {
		if !slices.Contains(s.Linux.MaskedPaths, p) {
			t.Errorf("%s is not masked", p)
		}
	}
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs"} {
		if !slices.Contains(s.Linux.ReadonlyPaths, p) {
			t.Errorf("%s is not read-only", p)
		}
	}
	sc := s.Linux.Seccomp
	if sc == nil || len(sc.Syscalls) == 0 || (sc.DefaultAction != specs.ActErrno && sc.DefaultAction != specs.ActKillProcess) {
		t.Fatalf("seccomp profile: %+v", sc)
	}
	for _, ns := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace} {
		if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == ns && n.Path == "" }) {
			t.Errorf("no new %s namespace", ns)
		}
	}
	if r := s.Linux.Resources; r == nil || len(r.Devices) == 0 || r.Devices[0].Allow || r.Devices[0].Access != "rwm" {
		t.Errorf("the device cgroup does not start with deny-all: %+v", r)
	}
	if s.Root.Path != "rootfs" || !s.Root.Readonly {
		t.Errorf("root %+v", s.Root)
	}
}

func TestDefaultSpecRootless(t *testing.T) {
	s := DefaultSpec(true)
	if err := validateSpec(s); err != nil {
		t.Fatalf("DefaultSpec(rootless) does not validate: %v", err)
	}
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace }) {
		t.Error("no user namespace")
	}
	uid, gid := uint32(os.Getuid()), uint32(os.Getgid())
	if m := s.Linux.UIDMappings; len(m) != 1 || m[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: uid, Size: 1}) {
		t.Errorf("uid mappings %+v, want 0 → %d", m, uid)
	}
	if m := s.Linux.GIDMappings; len(m) != 1 || m[0] != (specs.LinuxIDMapping{ContainerID: 0, HostID: gid, Size: 1}) {
		t.Errorf("gid mappings %+v, want 0 → %d", m, gid)
	}
	if s.Linux.Resources != nil {
		t.Errorf("rootless spec has resources: %+v", s.Linux.Resources)
	}
	for _, m := range s.Mounts {
		if m.Destination == "/sys/fs/cgroup" {
			t.Error("rootless spec mounts /sys/fs/cgroup")
		}
		if m.Destination == "/sys" && m.Type == "sysfs" {
			t.Error("rootless spec mounts a new sysfs")
		}
		if m.Destination == "/dev/pts" && slices.Contains(m.Options, "gid=5") {
			t.Error("rootless devpts asks for gid=5, which is not mapped")
		}
	}
	// The rootless variant must not change the shared default.
	if d := DefaultSpec(false); d.Linux.Resources == nil || len(d.Linux.UIDMappings) != 0 {
		t.Error("DefaultSpec(false) was changed by DefaultSpec(true)")
	}
}
