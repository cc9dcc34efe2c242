package rootfs

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// flagNames spells MS_* bits the way mount(8) does, in a fixed order.
var flagNames = []struct {
	flag uintptr
	name string
}{
	{unix.MS_REMOUNT, "remount"},
	{unix.MS_BIND, "bind"},
	{unix.MS_RDONLY, "ro"},
	{unix.MS_NOSUID, "nosuid"},
	{unix.MS_NODEV, "nodev"},
	{unix.MS_NOEXEC, "noexec"},
	{unix.MS_SYNCHRONOUS, "sync"},
	{unix.MS_DIRSYNC, "dirsync"},
	{unix.MS_MANDLOCK, "mand"},
	{unix.MS_NOSYMFOLLOW, "nosymfollow"},
	{unix.MS_NOATIME, "noatime"},
	{unix.MS_NODIRATIME, "nodiratime"},
	{unix.MS_RELATIME, "relatime"},
	{unix.MS_STRICTATIME, "strictatime"},
	{unix.MS_LAZYTIME, "lazytime"},
	{unix.MS_I_VERSION, "iversion"},
	{unix.MS_POSIXACL, "acl"},
	{unix.MS_SILENT, "silent"},
}

// propagationName spells one propagation call: MS_SLAVE|MS_REC is "rslave".
func propagationName(flags uintptr) string {
	name := "private"
	switch {
	case flags&unix.MS_SHARED != 0:
		name = "shared"
	case flags&unix.MS_SLAVE != 0:
		name = "slave"
	case flags&unix.MS_UNBINDABLE != 0:
		name = "unbindable"
	}
	if flags&unix.MS_REC != 0 {
		name = "r" + name
	}
	return name
}

// mountArgs renders a mount(2) call as the mount(8) command line that does the same, so
// --debug reads like a shell session: "-t tmpfs tmpfs /dev -o nosuid,mode=755".
func mountArgs(src, dst, fstype string, flags uintptr, data string) string {
	switch {
	case flags&propagationMask != 0:
		return fmt.Sprintf("--make-%s %s", propagationName(flags), dst)
	case flags&unix.MS_MOVE != 0:
		return fmt.Sprintf("--move %s %s", src, dst)
	case flags&unix.MS_BIND != 0 && flags&unix.MS_REMOUNT == 0:
		if flags&unix.MS_REC != 0 {
			return fmt.Sprintf("--rbind %s %s", src, dst)
		}
		return fmt.Sprintf("--bind %s %s", src, dst)
	}
	var parts []string
	if fstype != "" {
		parts = append(parts, "-t", fstype)
	}
	if src != "" {
		parts = append(parts, src)
	}
	parts = append(parts, dst)
	var opts []string
	for _, f := range flagNames {
		if flags&f.flag != 0 {
			opts = append(opts, f.name)
		}
	}
	if data != "" {
		opts = append(opts, data)
	}
	if len(opts) > 0 {
		parts = append(parts, "-o", strings.Join(opts, ","))
	}
	return strings.Join(parts, " ")
}

// what names a mount in an error: "mount proc on /proc: ...".
func (m MountStep) what() string {
	if m.Bind || m.Type == "" {
		return m.Source
	}
	return m.Type
}
