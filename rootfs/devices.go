package rootfs

import (
	"fmt"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// defaultDevices are the nodes config-linux.md's "Default Devices" says "the runtime MUST
// also supply", besides /dev/console (the runtime's terminal code binds the pty there)
// and /dev/ptmx (a symlink, below).
var defaultDevices = []Device{
	{Path: "/dev/null", Mode: unix.S_IFCHR | 0o666, Major: 1, Minor: 3},
	{Path: "/dev/zero", Mode: unix.S_IFCHR | 0o666, Major: 1, Minor: 5},
	{Path: "/dev/full", Mode: unix.S_IFCHR | 0o666, Major: 1, Minor: 7},
	{Path: "/dev/random", Mode: unix.S_IFCHR | 0o666, Major: 1, Minor: 8},
	{Path: "/dev/urandom", Mode: unix.S_IFCHR | 0o666, Major: 1, Minor: 9},
	{Path: "/dev/tty", Mode: unix.S_IFCHR | 0o666, Major: 5, Minor: 0},
}

// planDevices adds the default devices, linux.devices and the /dev symlinks, unless the
// spec bind-mounts a whole /dev from the host, which then already has them (as runc does).
func (p *Plan) planDevices(devices []specs.LinuxDevice, inUserNS bool) error {
	for _, m := range p.Mounts {
		if m.Bind && m.Destination == "/dev" {
			return nil
		}
	}
	byPath := map[string]int{}
	add := func(d Device) {
		d.Bind = inUserNS
		if i, ok := byPath[d.Path]; ok {
			p.Devices[i] = d // linux.devices overrides a default at the same path
			return
		}
		byPath[d.Path] = len(p.Devices)
		p.Devices = append(p.Devices, d)
	}
	for _, d := range defaultDevices {
		add(d)
	}
	for i, d := range devices {
		dev, err := planDevice(d)
		if err != nil {
			return fmt.Errorf("linux.devices[%d] %s: %w", i, d.Path, err)
		}
		add(dev)
	}
	links := []Symlink{
		{Target: "/proc/self/fd", Path: "/dev/fd"},
		{Target: "/proc/self/fd/0", Path: "/dev/stdin"},
		{Target: "/proc/self/fd/1", Path: "/dev/stdout"},
		{Target: "/proc/self/fd/2", Path: "/dev/stderr"},
	}
	if p.hasProc() {
		links = append(links, Symlink{Target: "/proc/kcore", Path: "/dev/core"})
	}
	if _, ok := byPath["/dev/ptmx"]; !ok {
		// "/dev/ptmx. A bind-mount or symlink of the container's /dev/pts/ptmx."
		links = append(links, Symlink{Target: "pts/ptmx", Path: "/dev/ptmx", Replace: true})
	}
	p.Symlinks = links
	return nil
}

// planDevice checks one linux.devices entry and gives it a full mknod(2) mode.
func planDevice(d specs.LinuxDevice) (Device, error) {
	if !filepath.IsAbs(d.Path) || strings.ContainsRune(d.Path, 0) {
		return Device{}, fmt.Errorf("path %q is not absolute", d.Path)
	}
	dev := Device{Path: filepath.Clean(d.Path), Major: d.Major, Minor: d.Minor}
	if dev.Path == "/" {
		return Device{}, fmt.Errorf("path %q is the root", d.Path)
	}
	switch d.Type {
	case "c", "u": // u is an unbuffered character device: the same to mknod
		dev.Mode = unix.S_IFCHR
	case "b":
		dev.Mode = unix.S_IFBLK
	case "p":
		dev.Mode = unix.S_IFIFO
		dev.Major, dev.Minor = 0, 0
	default:
		return Device{}, fmt.Errorf("unknown device type %q", d.Type)
	}
	if d.Major < 0 || d.Minor < 0 || d.Major > 0xfff || d.Minor > 0xfffff {
		return Device{}, fmt.Errorf("device number %d:%d out of range", d.Major, d.Minor)
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(*d.FileMode) & 0o7777
	}
	dev.Mode |= perm
	if d.UID != nil {
		dev.UID = *d.UID
	}
	if d.GID != nil {
		dev.GID = *d.GID
	}
	return dev, nil
}
