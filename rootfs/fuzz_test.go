package rootfs

import (
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// FuzzNewPlan feeds the planner the untrusted parts of a config.json: a mount's type,
// source, destination and options (joined by newlines), rootfsPropagation, a device and
// ociVersion. NewPlan must never panic, and what it accepts must be safe to apply.
func FuzzNewPlan(f *testing.F) {
	f.Add("tmpfs", "tmpfs", "/dev", "nosuid\nstrictatime\nmode=755\nsize=65536k", "", "c", "/dev/fuse", "1.3.0")
	f.Add("", "/srv/data", "/data", "rbind\nro\nrslave", "rprivate", "b", "/dev/sda", "1.2.0")
	f.Add("bind", "rel/src", "data", "bind\nrro\nrnoatime", "shared", "p", "/run/fifo", "1.0.0")
	f.Add("devpts", "devpts", "/dev/pts", "newinstance\nptmxmode=0666\nmode=0620\ngid=5", "slave", "u", "dev/x", "1.1.0")
	f.Add("proc", "proc", "/../../proc", "remount\nro", "bogus", "x", "/", "")
	f.Add("cgroup", "cgroup", "/sys/fs/cgroup", "ro\nidmap", "runbindable", "c", "/dev/\x00", "0.5.0")
	f.Fuzz(func(t *testing.T, typ, src, dst, options, prop, devType, devPath, version string) {
		spec := &specs.Spec{
			Version: version,
			Root:    &specs.Root{Path: "rootfs"},
			Mounts:  []specs.Mount{{Type: typ, Source: src, Destination: dst, Options: strings.Split(options, "\n")}},
			Linux: &specs.Linux{
				RootfsPropagation: prop,
				Devices:           []specs.LinuxDevice{{Path: devPath, Type: devType, Major: 1, Minor: 2}},
				MaskedPaths:       []string{dst},
				ReadonlyPaths:     []string{devPath},
			},
		}
		p, err := NewPlan(spec, "/run/hull/x/rootfs", Options{BundleDir: "/bundle"})
		if err != nil {
			return
		}
		for _, m := range p.Mounts {
			if !filepath.IsAbs(m.Destination) || filepath.Clean(m.Destination) != m.Destination || m.Destination == "/" {
				t.Errorf("destination %q not absolute and clean", m.Destination)
			}
			if m.Flags&propagationMask != 0 {
				t.Errorf("propagation bits %#x mixed into the mount flags", m.Flags)
			}
			for _, prop := range m.Propagation {
				if prop&^unix.MS_REC == 0 || prop&^(propagationMask|unix.MS_REC) != 0 {
					t.Errorf("bad propagation call %#x", prop)
				}
			}
			if m.Bind && !filepath.IsAbs(m.Source) {
				t.Errorf("bind source %q not absolute", m.Source)
			}
			if strings.ContainsRune(m.Source+m.Destination+m.Type+m.Data, 0) {
				t.Errorf("NUL byte reached the plan: %+v", m)
			}
		}
		for _, d := range p.Devices {
			if !filepath.IsAbs(d.Path) || d.Mode&unix.S_IFMT == 0 {
				t.Errorf("bad device %+v", d)
			}
		}
		for _, path := range append(p.MaskedPaths, p.ReadonlyPaths...) {
			if !filepath.IsAbs(path) {
				t.Errorf("path %q not absolute", path)
			}
		}
	})
}
