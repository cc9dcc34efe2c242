package rootfs

import (
	"os"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func specWith(version string, mounts ...specs.Mount) *specs.Spec {
	return &specs.Spec{Version: version, Root: &specs.Root{Path: "rootfs"}, Mounts: mounts, Linux: &specs.Linux{}}
}

func TestNewPlanMounts(t *testing.T) {
	spec := specWith("1.2.0",
		specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"},
		specs.Mount{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		specs.Mount{Destination: "/data/../data/", Source: "/srv/data", Options: []string{"rbind", "ro", "rslave"}},
		specs.Mount{Destination: "/etc/hosts", Type: "bind", Source: "/etc/hosts", Options: []string{"bind"}},
		specs.Mount{Destination: "relative/dir", Type: "tmpfs", Source: "tmpfs"},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"ro"}},
		specs.Mount{Destination: "/vol", Source: "volumes/v1", Options: []string{"bind", "rro"}},
	)
	p, err := NewPlan(spec, "/run/hull/c1/rootfs/", Options{BundleDir: "/bundles/c1", CgroupNS: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []MountStep{
		{Source: "proc", Destination: "/proc", Type: "proc"},
		{Source: "tmpfs", Destination: "/dev", Type: "tmpfs", Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "/srv/data", Destination: "/data", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY, Bind: true,
			Remount: unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY, Propagation: []uintptr{unix.MS_SLAVE | unix.MS_REC}},
		{Source: "/etc/hosts", Destination: "/etc/hosts", Flags: unix.MS_BIND, Bind: true},
		{Source: "tmpfs", Destination: "/relative/dir", Type: "tmpfs"},
		{Source: "cgroup", Destination: "/sys/fs/cgroup", Type: "cgroup", Flags: unix.MS_RDONLY, Cgroup: true, CgroupNS: true},
		{Source: "/bundles/c1/volumes/v1", Destination: "/vol", Flags: unix.MS_BIND, Bind: true, AttrSet: unix.MOUNT_ATTR_RDONLY},
	}
	if !reflect.DeepEqual(p.Mounts, want) {
		t.Errorf("mounts:\n got %+v\nwant %+v", p.Mounts, want)
	}
	if p.Rootfs != "/run/hull/c1/rootfs" {
		t.Errorf("rootfs = %q", p.Rootfs)
	}
	if p.RootPropagation != unix.MS_SLAVE|unix.MS_REC || p.FinalPropagation != 0 {
		t.Errorf("propagation = %#x then %#x, want rslave then nothing", p.RootPropagation, p.FinalPropagation)
	}
}

// A plan for a caller outside the container's pid namespace (a thread of hull): procfs mounts
// name the container's pid namespace, and cgroup mounts read the container process's files
// (and the mount table the caller gave).
func TestNewPlanForAnotherProcess(t *testing.T) {
	spec := specWith("1.2.0",
		specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"},
		specs.Mount{Destination: "/proc2", Type: "proc", Source: "proc", Options: []string{"hidepid=2"}},
		specs.Mount{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup"},
		specs.Mount{Destination: "/bound", Type: "proc", Source: "/proc", Options: []string{"rbind"}},
	)
	p, err := NewPlan(spec, "/r", Options{Pid: 4242, ProcPidNS: "/proc/4242/ns/pid", HostMountinfo: "the table"})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.Mounts[0].Data, p.Mounts[1].Data, p.Mounts[2].ProcDir, p.Mounts[3].Data, p.Mounts[2].Mountinfo, p.Mounts[0].Mountinfo}
	want := []string{"pidns=/proc/4242/ns/pid", "hidepid=2,pidns=/proc/4242/ns/pid", "/proc/4242", "", "the table", ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("data and proc dirs = %q, want %q", got, want)
	}
	if d := procDir(p.Mounts[2]); d != "/proc/4242" {
		t.Errorf("procDir = %q", d)
	}
	own, err := NewPlan(spec, "/r", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := procDir(own.Mounts[2]); d != "/proc/thread-self" || own.Mounts[0].Data != "" {
		t.Errorf("own plan: procDir %q, proc data %q; want /proc/thread-self and none", d, own.Mounts[0].Data)
	}
}

func TestNewPlanRejects(t *testing.T) {
	tests := []struct {
		name, want string
		spec       *specs.Spec
		rootfs     string
	}{
		{"nil spec", "no spec", nil, "/r"},
		{"relative rootfs", "rootfs", specWith("1.2.0"), "rootfs"},
		{"host root as rootfs", "rootfs", specWith("1.2.0"), "/"},
		{"relative destination in 1.0", "absolute", specWith("1.0.2", specs.Mount{Destination: "proc", Type: "proc"}), "/r"},
		{"relative destination in 1.1", "absolute", specWith("1.1.0", specs.Mount{Destination: "proc", Type: "proc"}), "/r"},
		{"empty destination", "empty destination", specWith("1.2.0", specs.Mount{Type: "tmpfs"}), "/r"},
		{"over /", "not supported", specWith("1.2.0", specs.Mount{Destination: "/", Type: "tmpfs"}), "/r"},
		{"no type", "no type", specWith("1.2.0", specs.Mount{Destination: "/x", Source: "x"}), "/r"},
		{"bind without source", "without a source", specWith("1.2.0", specs.Mount{Destination: "/x", Options: []string{"bind"}}), "/r"},
		{"relative bind source", "bundle", specWith("1.2.0", specs.Mount{Destination: "/x", Source: "x", Options: []string{"bind"}}), "/r"},
		{"idmap", "idmapped", specWith("1.2.0", specs.Mount{Destination: "/x", Source: "/x", Options: []string{"bind", "idmap"}}), "/r"},
		{"tmpcopyup on a bind", "fresh tmpfs", specWith("1.2.0", specs.Mount{Destination: "/x", Source: "/x", Options: []string{"bind", "tmpcopyup"}}), "/r"},
		{"NUL in destination", "NUL", specWith("1.2.0", specs.Mount{Destination: "/x\x00", Type: "tmpfs"}), "/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewPlan(tt.spec, tt.rootfs, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestNewPlanLinux(t *testing.T) {
	mode := os.FileMode(0o600)
	uid := uint32(7)
	tests := []struct {
		name  string
		linux specs.Linux
		check func(t *testing.T, p *Plan)
		want  string // error
	}{
		{name: "rprivate", linux: specs.Linux{RootfsPropagation: "rprivate"}, check: func(t *testing.T, p *Plan) {
			if p.RootPropagation != unix.MS_PRIVATE|unix.MS_REC || p.FinalPropagation != unix.MS_PRIVATE|unix.MS_REC {
				t.Errorf("got %#x, %#x", p.RootPropagation, p.FinalPropagation)
			}
		}},
		{name: "shared is applied last", linux: specs.Linux{RootfsPropagation: "shared"}, check: func(t *testing.T, p *Plan) {
			if p.RootPropagation != unix.MS_SLAVE|unix.MS_REC || p.FinalPropagation != unix.MS_SHARED {
				t.Errorf("got %#x, %#x", p.RootPropagation, p.FinalPropagation)
			}
		}},
		{name: "unknown propagation", linux: specs.Linux{RootfsPropagation: "everywhere"}, want: "unknown propagation"},
		{name: "masked and readonly", linux: specs.Linux{MaskedPaths: []string{"/proc/kcore", "/proc/acpi/"}, ReadonlyPaths: []string{"/proc/sys"}},
			check: func(t *testing.T, p *Plan) {
				if !reflect.DeepEqual(p.MaskedPaths, []string{"/proc/kcore", "/proc/acpi"}) || !reflect.DeepEqual(p.ReadonlyPaths, []string{"/proc/sys"}) {
					t.Errorf("masked %v, readonly %v", p.MaskedPaths, p.ReadonlyPaths)
				}
			}},
		{name: "relative masked path", linux: specs.Linux{MaskedPaths: []string{"proc/kcore"}}, want: "maskedPaths"},
		{name: "relative readonly path", linux: specs.Linux{ReadonlyPaths: []string{"proc/sys"}}, want: "readonlyPaths"},
		{name: "device added and overriding", linux: specs.Linux{Devices: []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: &mode, UID: &uid},
			{Path: "/dev/null", Type: "u", Major: 1, Minor: 3, FileMode: &mode},
			{Path: "/dev/ptmx", Type: "c", Major: 5, Minor: 2},
			{Path: "/run/fifo", Type: "p"},
			{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
		}}, check: func(t *testing.T, p *Plan) {
			byPath := map[string]Device{}
			for _, d := range p.Devices {
				byPath[d.Path] = d
			}
			if len(p.Devices) != len(defaultDevices)+4 {
				t.Errorf("%d devices: %+v", len(p.Devices), p.Devices)
			}
			for path, want := range map[string]Device{
				"/dev/fuse": {Path: "/dev/fuse", Mode: unix.S_IFCHR | 0o600, Major: 10, Minor: 229, UID: 7},
				"/dev/null": {Path: "/dev/null", Mode: unix.S_IFCHR | 0o600, Major: 1, Minor: 3},
				"/run/fifo": {Path: "/run/fifo", Mode: unix.S_IFIFO | 0o666},
				"/dev/sda":  {Path: "/dev/sda", Mode: unix.S_IFBLK | 0o666, Major: 8},
				"/dev/tty":  {Path: "/dev/tty", Mode: unix.S_IFCHR | 0o666, Major: 5},
			} {
				if byPath[path] != want {
					t.Errorf("%s = %+v, want %+v", path, byPath[path], want)
				}
			}
			for _, l := range p.Symlinks {
				if l.Path == "/dev/ptmx" {
					t.Errorf("ptmx symlink planned although linux.devices has /dev/ptmx")
				}
			}
		}},
		{name: "bad device type", linux: specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/x", Type: "x"}}}, want: "unknown device type"},
		{name: "relative device", linux: specs.Linux{Devices: []specs.LinuxDevice{{Path: "dev/x", Type: "c"}}}, want: "not absolute"},
		{name: "device number too large", linux: specs.Linux{Devices: []specs.LinuxDevice{{Path: "/dev/x", Type: "c", Major: 1 << 20}}}, want: "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := specWith("1.3.0")
			spec.Linux = &tt.linux
			p, err := NewPlan(spec, "/r", Options{})
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestNewPlanDefaultDevices(t *testing.T) {
	spec := specWith("1.3.0", specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"})
	spec.Root.Readonly = true
	p, err := NewPlan(spec, "/r", Options{NoPivot: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Devices, defaultDevices) {
		t.Errorf("devices = %+v, want the defaults", p.Devices)
	}
	wantLinks := []Symlink{
		{Target: "/proc/self/fd", Path: "/dev/fd"},
		{Target: "/proc/self/fd/0", Path: "/dev/stdin"},
		{Target: "/proc/self/fd/1", Path: "/dev/stdout"},
		{Target: "/proc/self/fd/2", Path: "/dev/stderr"},
		{Target: "/proc/kcore", Path: "/dev/core"},
		{Target: "pts/ptmx", Path: "/dev/ptmx", Replace: true},
	}
	if !reflect.DeepEqual(p.Symlinks, wantLinks) {
		t.Errorf("symlinks = %+v", p.Symlinks)
	}
	if !p.ReadonlyRoot || !p.NoPivot {
		t.Errorf("readonly root %v, no pivot %v", p.ReadonlyRoot, p.NoPivot)
	}

	// In a user namespace mknod is refused: the same devices are bound from the host.
	p, err = NewPlan(specWith("1.3.0"), "/r", Options{InUserNS: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range p.Devices {
		if !d.Bind {
			t.Errorf("%s not bind-mounted in a user namespace", d.Path)
		}
	}
	for _, l := range p.Symlinks {
		if l.Path == "/dev/core" {
			t.Errorf("/dev/core planned without a /proc mount")
		}
	}

	// A bind-mounted /dev brings its own nodes.
	p, err = NewPlan(specWith("1.3.0", specs.Mount{Destination: "/dev", Source: "/dev", Options: []string{"rbind"}}), "/r", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Devices) != 0 || len(p.Symlinks) != 0 {
		t.Errorf("devices %v and symlinks %v planned over a bound /dev", p.Devices, p.Symlinks)
	}
}

func TestRelativeDestinationsAllowed(t *testing.T) {
	for version, want := range map[string]bool{
		"1.0.0": false, "1.0.2": false, "1.0.0-rc5": false, "1.1.0": false,
		"1.2.0": true, "1.3.0": true, "0.5.0": true, "": true, "garbage": true, "2.0.0": true,
	} {
		if got := relativeDestinationsAllowed(version); got != want {
			t.Errorf("%q: got %v, want %v", version, got, want)
		}
	}
}
