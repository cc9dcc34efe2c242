package rootfs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountCgroup gives the container a view of its own cgroup at m.Destination. On a
// cgroup v2 host, in a cgroup namespace, that is a fresh cgroup2 mount, whose root is the
// container's cgroup; without one, a bind of our own cgroup's directory (mountCgroupV2Bind).
// On a v1 host it is a tmpfs with one directory per hierarchy, as runc does.
func mountCgroup(s sys, r *root, m MountStep) error {
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		if !m.CgroupNS {
			return mountCgroupV2Bind(s, r, m)
		}
		v2 := m
		v2.Type, v2.Cgroup, v2.ProcDir = "cgroup2", false, ""
		return mountFS(s, r, v2)
	}
	return mountCgroupV1(s, r, m)
}

// procDir is where the container process's cgroup and mountinfo files are (MountStep.ProcDir).
func procDir(m MountStep) string {
	if m.ProcDir == "" {
		return "/proc/thread-self"
	}
	return m.ProcDir
}

// mountCgroupV2Bind binds /sys/fs/cgroup/<our cgroup> at m.Destination. A fresh cgroup2 mount
// made from the initial cgroup namespace would show the whole host tree, and worse, the
// kernel applies its options to the one cgroup2 superblock (cgroup_get_tree calls
// apply_cgroup_root_flags): mounting without nsdelegate or memory_recursiveprot would turn
// them off for the whole host, under systemd's feet.
func mountCgroupV2Bind(s sys, r *root, m MountStep) error {
	procCgroup, err := os.ReadFile(procDir(m) + "/cgroup")
	if err != nil {
		return err
	}
	src, err := v2Dir("/sys/fs/cgroup", string(procCgroup))
	if err != nil {
		return err
	}
	flags := m.Flags &^ unix.MS_REMOUNT
	b := MountStep{Source: src, Destination: m.Destination, Bind: true, Flags: flags | unix.MS_BIND | unix.MS_REC}
	if flags != 0 {
		b.Remount = flags | unix.MS_BIND | unix.MS_REMOUNT
	}
	return bind(s, r, b)
}

// v2Dir is the directory of our cgroup v2 cgroup under mountpoint, from the "0::/path" line
// of a /proc/<pid>/cgroup file (cgroups(7)).
func v2Dir(mountpoint, procCgroup string) (string, error) {
	for _, line := range strings.Split(procCgroup, "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(p, "/") {
			return filepath.Join(mountpoint, filepath.Clean(p)), nil
		}
	}
	return "", fmt.Errorf("no cgroup v2 line in the cgroup file: %q", procCgroup)
}

// mountCgroupV1 mounts a tmpfs, then under it each v1 hierarchy: bound from the host's
// directory of our own cgroup (so the container cannot see or touch its siblings), or,
// in a cgroup namespace, mounted fresh, which shows the same subtree.
func mountCgroupV1(s sys, r *root, m MountStep) error {
	mountinfo := m.Mountinfo
	if mountinfo == "" {
		b, err := os.ReadFile(procDir(m) + "/mountinfo")
		if err != nil {
			return err
		}
		mountinfo = string(b)
	}
	procCgroup, err := os.ReadFile(procDir(m) + "/cgroup")
	if err != nil {
		return err
	}
	hs, err := v1Hierarchies(mountinfo, string(procCgroup))
	if err != nil {
		return err
	}
	const tmpfsFlags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	tmpfs := MountStep{Source: "tmpfs", Destination: m.Destination, Type: "tmpfs", Flags: tmpfsFlags, Data: "mode=755"}
	if err := mountFS(s, r, tmpfs); err != nil {
		return err
	}
	flags := m.Flags &^ unix.MS_REMOUNT
	for _, h := range hs {
		base := filepath.Base(h.mountpoint)
		dst := filepath.Join(m.Destination, base)
		if m.CgroupNS {
			sub := MountStep{Source: "cgroup", Destination: dst, Type: "cgroup", Flags: flags, Data: strings.Join(h.subsystems, ",")}
			err = mountFS(s, r, sub)
		} else {
			var src string
			if src, err = h.dir(); err != nil {
				return err
			}
			sub := MountStep{Source: src, Destination: dst, Bind: true, Flags: flags | unix.MS_BIND | unix.MS_REC}
			if flags != 0 {
				sub.Remount = flags | unix.MS_BIND | unix.MS_REMOUNT
			}
			err = bind(s, r, sub)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", dst, err)
		}
		// A co-mounted hierarchy ("cpu,cpuacct") is also reachable by each name.
		for _, sub := range h.subsystems {
			name := strings.TrimPrefix(sub, "name=")
			if name != base && !strings.Contains(name, "/") {
				l := Symlink{Target: base, Path: filepath.Join(m.Destination, name)}
				if err := createSymlink(s, r, l); err != nil {
					return err
				}
			}
		}
	}
	if m.Flags&unix.MS_RDONLY == 0 {
		return nil
	}
	return reopenMount(s, r, m.Destination, "", "", tmpfsFlags|unix.MS_REMOUNT|unix.MS_RDONLY, "mode=755")
}
