package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Recorder receives one record per kernel step, so --debug can narrate how a root
// filesystem is put together: op is the syscall ("mount", "mknod", "pivot_root", ...),
// args reads like the shell command that would do the same.
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// Options are facts about the caller's situation that the spec does not carry.
type Options struct {
	// NoPivot moves the rootfs onto "/" and chroots instead of pivot_root(2), for
	// hosts whose root is the initramfs, where pivot_root is refused.
	NoPivot bool
	// InUserNS means mknod(2) is not allowed: devices are bind-mounted from the host.
	InUserNS bool
	// CgroupNS means the init is in its own cgroup namespace: cgroup v1 hierarchies are
	// mounted fresh instead of bind-mounted from the host.
	CgroupNS bool
	// BundleDir anchors bind sources given as relative paths; empty rejects them.
	BundleDir string
	// Pid, if not 0, is the container's process when the caller is not (a thread of hull that
	// joined its namespaces): cgroup mounts then show the cgroups /proc/<pid>/cgroup names, as
	// the mount table of /proc/<pid>/mountinfo (or HostMountinfo) has them. 0 reads the
	// calling thread's.
	Pid int
	// HostMountinfo, if set, is the mount table (proc_pid_mountinfo(5)) the container's mount
	// namespace was copied from, read by the caller before the clone: a cgroup v1 mount finds
	// the hierarchies in it instead of reading /proc/<pid>/mountinfo (see Pid), which makes
	// the kernel format the new namespace's whole table again.
	HostMountinfo string
	// ProcPidNS, if set, is passed to every procfs mount as its pidns= option (Linux 6.18): the
	// pid namespace the new /proc shows, when the caller is not a member of it.
	ProcPidNS string
	// BeforeCgroup, if set, runs once before the first cgroup mount (or at the end of Mount
	// when there is none): the runtime finishes moving the init into its cgroups meanwhile,
	// and a cgroup mount shows the cgroup the init is in.
	BeforeCgroup func() error `json:"-"`
}

// MountStep is one entry of spec.Mounts, translated for mount(2).
type MountStep struct {
	Source      string    // fs source name, or the absolute host path of a bind
	Destination string    // absolute and clean, inside the container
	Type        string    // filesystem type; empty for a bind
	Flags       uintptr   // MS_* for the first mount(2); a bind uses only MS_BIND|MS_REC of it
	Data        string    // comma-joined filesystem options
	Bind        bool      // bind or rbind
	Remount     uintptr   // non-zero: a second MS_REMOUNT|MS_BIND call, since a bind ignores ro, nosuid, ...
	Propagation []uintptr // one extra mount(2) call each
	AttrSet     uint64    // recursive MOUNT_ATTR_* for mount_setattr(2)
	AttrClr     uint64
	CopyUp      bool   // tmpcopyup: the new tmpfs starts with a copy of the directory it covers
	Cgroup      bool   // type "cgroup": v1 or v2 is decided when applied, by looking at the host
	CgroupNS    bool   // for Cgroup: the init has its own cgroup namespace
	ProcDir     string // for Cgroup: /proc/<pid> of the container's process; "": /proc/thread-self
	Mountinfo   string // for Cgroup: the mount table to find v1 hierarchies in; "": ProcDir's
}

// Device is a node to create with mknod(2), or to bind from the host in a user namespace.
type Device struct {
	Path         string // absolute inside the container
	Mode         uint32 // S_IFCHR, S_IFBLK or S_IFIFO, with permission bits
	Major, Minor int64
	UID, GID     uint32
	Bind         bool // bind-mount the host's node at the same path instead of mknod
}

// Symlink is a link the container's /dev is expected to have.
type Symlink struct {
	Target, Path string
	Replace      bool // remove whatever is at Path first (/dev/ptmx)
}

// Plan is the pure result of reading a spec: every step, in the order it will run.
type Plan struct {
	Rootfs           string  // absolute host path of the root filesystem
	RootPropagation  uintptr // applied to "/" first, so nothing we mount reaches the host
	Mounts           []MountStep
	Devices          []Device
	Symlinks         []Symlink
	NoPivot          bool
	ReadonlyPaths    []string
	MaskedPaths      []string
	ReadonlyRoot     bool
	FinalPropagation uintptr // rootfsPropagation, applied to the new "/" last; 0 if unset

	beforeCgroup func() error // Options.BeforeCgroup
}

// ErrUnsafePath marks a path in the bundle that would lead outside the rootfs, or onto
// something other than what the spec names.
var ErrUnsafePath = errors.New("unsafe path")

// NewPlan validates spec and turns it into a Plan. It makes no system calls.
func NewPlan(spec *specs.Spec, rootfs string, opts Options) (*Plan, error) {
	if spec == nil {
		return nil, errors.New("no spec")
	}
	if !filepath.IsAbs(rootfs) || filepath.Clean(rootfs) == "/" || strings.ContainsRune(rootfs, 0) {
		return nil, fmt.Errorf("rootfs %q: must be an absolute path other than /", rootfs)
	}
	p := &Plan{Rootfs: filepath.Clean(rootfs), NoPivot: opts.NoPivot, RootPropagation: unix.MS_SLAVE | unix.MS_REC, beforeCgroup: opts.BeforeCgroup}
	if spec.Root != nil {
		p.ReadonlyRoot = spec.Root.Readonly
	}
	lx := spec.Linux
	if lx == nil {
		lx = &specs.Linux{}
	}
	if prop := lx.RootfsPropagation; prop != "" {
		flag, ok := propagationOptions[prop]
		if !ok {
			return nil, fmt.Errorf("rootfsPropagation %q: unknown propagation", prop)
		}
		p.FinalPropagation = flag
		if flag&(unix.MS_PRIVATE|unix.MS_UNBINDABLE) != 0 {
			p.RootPropagation = unix.MS_PRIVATE | unix.MS_REC
		}
	}
	relOK := relativeDestinationsAllowed(spec.Version)
	for i, m := range spec.Mounts {
		step, err := planMount(m, relOK, opts.BundleDir)
		if err != nil {
			return nil, fmt.Errorf("mounts[%d] %s: %w", i, m.Destination, err)
		}
		step.CgroupNS = step.Cgroup && opts.CgroupNS
		if step.Cgroup && opts.Pid != 0 {
			step.ProcDir = "/proc/" + strconv.Itoa(opts.Pid)
		}
		if step.Cgroup {
			step.Mountinfo = opts.HostMountinfo
		}
		if step.Type == "proc" && !step.Bind && opts.ProcPidNS != "" {
			step.Data = strings.TrimPrefix(step.Data+",pidns="+opts.ProcPidNS, ",")
		}
		p.Mounts = append(p.Mounts, step)
	}
	if err := p.planDevices(lx.Devices, opts.InUserNS); err != nil {
		return nil, err
	}
	var err error
	if p.ReadonlyPaths, err = cleanPaths("readonlyPaths", lx.ReadonlyPaths); err != nil {
		return nil, err
	}
	if p.MaskedPaths, err = cleanPaths("maskedPaths", lx.MaskedPaths); err != nil {
		return nil, err
	}
	return p, nil
}

// relativeDestinationsAllowed says whether a bundle of this ociVersion may use relative
// mount destinations. 1.0 and 1.1 said "This value MUST be an absolute path"; 1.2
// relaxed it: "it MAY be a relative path, in which case it MUST be interpreted as
// relative to "/"". Pre-1.0 drafts and unparsable versions get the modern reading.
func relativeDestinationsAllowed(version string) bool {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return !(major == 1 && minor < 2)
}

// planMount translates one spec mount.
func planMount(m specs.Mount, relOK bool, bundle string) (MountStep, error) {
	if m.Destination == "" {
		return MountStep{}, errors.New("empty destination")
	}
	if !filepath.IsAbs(m.Destination) && !relOK {
		return MountStep{}, errors.New("destination must be an absolute path in this ociVersion")
	}
	if strings.ContainsRune(m.Destination+m.Source+m.Type, 0) {
		return MountStep{}, errors.New("NUL byte in mount")
	}
	dst := filepath.Clean("/" + m.Destination)
	if dst == "/" {
		return MountStep{}, errors.New("mounting over the container's / is not supported")
	}
	o, err := parseOptions(m.Options)
	if err != nil {
		return MountStep{}, err
	}
	s := MountStep{Source: m.Source, Destination: dst, Type: m.Type, Flags: o.flags,
		Data: strings.Join(o.data, ","), Propagation: o.propagation, AttrSet: o.attrSet, AttrClr: o.attrClr, CopyUp: o.copyUp}
	if s.CopyUp && (m.Type != "tmpfs" || o.flags&(unix.MS_BIND|unix.MS_REMOUNT) != 0) {
		return MountStep{}, errors.New("tmpcopyup needs a fresh tmpfs")
	}
	// "A mount is a bind mount if it has either bind or rbind in the options."
	s.Bind = o.flags&unix.MS_BIND != 0 || m.Type == "bind"
	switch {
	case o.flags&unix.MS_REMOUNT != 0:
		// A remount changes a mount already there: one call, flags as given.
	case s.Bind:
		s.Type, s.Flags = "", o.flags|unix.MS_BIND
		if s.Source == "" {
			return MountStep{}, errors.New("bind mount without a source")
		}
		if !filepath.IsAbs(s.Source) {
			if bundle == "" {
				return MountStep{}, fmt.Errorf("relative bind source %q and no bundle directory", s.Source)
			}
			s.Source = filepath.Join(bundle, s.Source)
		}
		s.Source = filepath.Clean(s.Source)
		if extra := s.Flags &^ (unix.MS_BIND | unix.MS_REC); extra != 0 {
			s.Remount = extra | unix.MS_BIND | unix.MS_REMOUNT
		}
	case m.Type == "":
		return MountStep{}, errors.New("no type and not a bind mount")
	case m.Type == "cgroup":
		s.Cgroup = true
	}
	return s, nil
}

// cleanPaths checks masked or read-only paths: "The values MUST be absolute paths in the
// container namespace."
func cleanPaths(field string, paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if !filepath.IsAbs(p) || strings.ContainsRune(p, 0) {
			return nil, fmt.Errorf("%s: %q is not an absolute path", field, p)
		}
		out = append(out, filepath.Clean(p))
	}
	return out, nil
}

// hasProc reports whether the spec mounts a procfs at /proc.
func (p *Plan) hasProc() bool {
	for _, m := range p.Mounts {
		if m.Type == "proc" && m.Destination == "/proc" {
			return true
		}
	}
	return false
}
