package rootfs

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// PlannedStep is one step Mount, Pivot or Finish would record, in the Recorder's words; Phase
// says which of the three ("mount", "pivot", "finish"), since the runtime does other things
// between them.
type PlannedStep struct{ Phase, Op, Args string }

// Describe lists the steps Mount, Pivot and Finish would take for this plan, in order and in
// the words they record them with, without making a system call (for --dry-run). It is the plan
// as the spec states it: what only the host can decide is summarised, namely which cgroup v1
// hierarchies a cgroup mount becomes, the mkdir of missing mount points, and whether a masked
// path is a file (bound over with /dev/null) or a directory (covered by a read-only tmpfs).
func (p *Plan) Describe() []PlannedStep {
	var out []PlannedStep
	phase := "mount"
	step := func(op, args string) { out = append(out, PlannedStep{phase, op, args}) }
	mount := func(src, dst, fstype string, flags uintptr, data string) {
		step("mount", mountArgs(src, dst, fstype, flags, data))
	}
	mount("", "/", "", p.RootPropagation, "")
	mount(p.Rootfs, p.Rootfs, "", unix.MS_BIND|unix.MS_REC, "")
	for _, m := range p.Mounts {
		dst := filepath.Join(p.Rootfs, m.Destination)
		switch {
		case m.Flags&unix.MS_REMOUNT != 0:
			mount(m.Source, dst, m.Type, m.Flags, m.Data)
		case m.Bind:
			mount(m.Source, dst, "", m.Flags&(unix.MS_BIND|unix.MS_REC), "")
			if m.Remount != 0 {
				mount("", dst, "", m.Remount, "")
			}
		default:
			mount(m.Source, dst, m.Type, m.Flags, m.Data)
		}
		for _, prop := range m.Propagation {
			mount("", dst, "", prop, "")
		}
		if m.AttrSet|m.AttrClr != 0 {
			step("mount_setattr", fmt.Sprintf("%s set=%#x clear=%#x recursive", dst, m.AttrSet, m.AttrClr))
		}
	}
	for _, d := range p.Devices {
		dst := filepath.Join(p.Rootfs, d.Path)
		if d.Bind {
			mount(d.Path, dst, "", unix.MS_BIND, "")
			continue
		}
		kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFIFO: "p"}[d.Mode&unix.S_IFMT]
		step("mknod", fmt.Sprintf("-m %o %s %s %d %d", d.Mode&0o7777, dst, kind, d.Major, d.Minor))
	}
	for _, l := range p.Symlinks {
		step("symlink", fmt.Sprintf("%s %s", l.Target, filepath.Join(p.Rootfs, l.Path)))
	}
	phase = "pivot"
	step("chdir", p.Rootfs)
	if p.NoPivot {
		mount(p.Rootfs, "/", "", unix.MS_MOVE, "")
		step("chroot", ".")
	} else {
		step("pivot_root", ". . (in "+p.Rootfs+")")
		step("chdir", "(old root)")
		mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, "")
		step("umount2", "-l .")
	}
	step("chdir", "/")
	phase = "finish"
	for _, path := range p.ReadonlyPaths {
		mount(path, path, "", unix.MS_BIND|unix.MS_REC, "")
		mount("", path, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	for _, path := range p.MaskedPaths {
		mount("/dev/null", path, "", unix.MS_BIND, "")
	}
	if p.ReadonlyRoot {
		mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "")
	}
	if p.FinalPropagation != 0 {
		mount("", "/", "", p.FinalPropagation, "")
	}
	return out
}
