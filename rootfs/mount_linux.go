package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Mount does everything before pivot_root(2). The caller is already in its new mount
// namespace; on error it just exits, and the namespace, with every mount made here, dies
// with it. (Mount points and device nodes created in the rootfs directory stay, as in runc.)
func (p *Plan) Mount(rec Recorder) error {
	s := newSys(rec)
	// Every target below is named through /proc/self/fd/N: that only means what it
	// says if /proc is the real procfs.
	if err := CheckProcfs("/proc"); err != nil {
		return fmt.Errorf("host /proc: %w", err)
	}
	// A new mount namespace starts as a copy whose mounts are still peers of the host's
	// when they were shared: make them slaves (or private) first, so that nothing we
	// mount propagates back to the host. This also satisfies pivot_root(2), which
	// refuses shared mounts.
	if err := s.mount("", "/", "/", "", p.RootPropagation, ""); err != nil {
		return fmt.Errorf("make / %s: %w", propagationName(p.RootPropagation), err)
	}
	// pivot_root(2) needs new_root to be a mount point: bind the rootfs onto itself.
	if err := s.mount(p.Rootfs, p.Rootfs, p.Rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", p.Rootfs, err)
	}
	r, err := openRoot(p.Rootfs)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer r.close()
	// "The runtime MUST mount entries in the listed order."
	before := p.beforeCgroup
	for _, m := range p.Mounts {
		if m.Cgroup && before != nil {
			if err := before(); err != nil {
				return err
			}
			before = nil
		}
		if err := mountOne(s, r, m); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.what(), m.Destination, err)
		}
	}
	if before != nil {
		if err := before(); err != nil {
			return err
		}
	}
	for _, d := range p.Devices {
		if err := createDevice(s, r, d); err != nil {
			return fmt.Errorf("device %s: %w", d.Path, err)
		}
	}
	for _, l := range p.Symlinks {
		if err := createSymlink(s, r, l); err != nil {
			return fmt.Errorf("symlink %s: %w", l.Path, err)
		}
	}
	return nil
}

// mountOne applies one spec mount, then its propagation and recursive attributes.
func mountOne(s sys, r *root, m MountStep) error {
	var err error
	switch {
	case m.Flags&unix.MS_REMOUNT != 0:
		err = remount(s, r, m)
	case m.Cgroup:
		err = mountCgroup(s, r, m)
	case m.Bind:
		err = bind(s, r, m)
	default:
		err = mountFS(s, r, m)
	}
	if err != nil {
		return err
	}
	for _, prop := range m.Propagation {
		if err := reopenMount(s, r, m.Destination, "", "", prop, ""); err != nil {
			return err
		}
	}
	if m.AttrSet|m.AttrClr != 0 {
		f, err := r.open(m.Destination, false)
		if err != nil {
			return err
		}
		defer f.Close()
		attr := &unix.MountAttr{Attr_set: m.AttrSet, Attr_clr: m.AttrClr}
		return s.mountSetattr(int(f.Fd()), r.host(m.Destination), attr)
	}
	return nil
}

// mountFS mounts a fresh filesystem (tmpfs, proc, sysfs, devpts, mqueue, cgroup2, ...).
func mountFS(s sys, r *root, m MountStep) error {
	special := m.Type == "proc" || m.Type == "sysfs"
	if special {
		if err := r.noSymlink(m.Destination); err != nil {
			return err
		}
	}
	f, err := r.mkdirAll(s, m.Destination, special)
	if err != nil {
		return err
	}
	defer f.Close()
	var lower *os.File // tmpcopyup: the directory the tmpfs is about to cover
	if m.CopyUp {
		if lower, err = openDir(f, "."); err != nil {
			return err
		}
		defer lower.Close()
	}
	if err := s.mount(m.Source, r.target(f, m.Destination), r.host(m.Destination), m.Type, m.Flags, m.Data); err != nil {
		return err
	}
	if lower != nil {
		return copyUp(s, r, lower, m)
	}
	if m.Type != "proc" {
		return nil
	}
	// Look again: what now sits at the destination must be the procfs we just mounted.
	g, err := r.open(m.Destination, true)
	if err != nil {
		return err
	}
	defer g.Close()
	return CheckProcfs(fmt.Sprintf("/proc/self/fd/%d", g.Fd()))
}

// bind bind-mounts a host path. The kernel ignores ro, nosuid and friends on a bind, so
// they take a second MS_REMOUNT|MS_BIND call on the new mount.
func bind(s sys, r *root, m MountStep) error {
	st, err := os.Stat(m.Source)
	if err != nil {
		return err
	}
	var f *handle
	if st.IsDir() {
		f, err = r.mkdirAll(s, m.Destination, false)
	} else {
		f, err = r.createFile(s, m.Destination)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.mount(m.Source, r.target(f, m.Destination), r.host(m.Destination), "", m.Flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
		return err
	}
	if m.Remount == 0 {
		return nil
	}
	return remountBind(s, r, m.Destination, m.Remount, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC)
}

// remountBind changes the flags of the bind mount at dst. If the kernel says EPERM the
// mount has locked flags (it came from a more privileged mount namespace): try again
// repeating those of them in keep, and every locked atime flag.
func remountBind(s sys, r *root, dst string, flags, keep uintptr) error {
	f, err := r.open(dst, false)
	if err != nil {
		return err
	}
	defer f.Close()
	err = s.mount("", r.target(f, dst), r.host(dst), "", flags, "")
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	have, serr := mountFlags(f)
	if serr != nil {
		return err
	}
	atime := uintptr(unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME)
	retry := flags&^atime | have&keep | have&(atime|unix.MS_NODIRATIME)
	if retry == flags {
		return err
	}
	return s.mount("", r.target(f, dst), r.host(dst), "", retry, "")
}

// remount is a spec mount with "remount" in its options: it changes an existing mount.
func remount(s sys, r *root, m MountStep) error {
	return reopenMount(s, r, m.Destination, m.Source, m.Type, m.Flags, m.Data)
}

// reopenMount resolves dst again (so it names the mount now on top) and calls mount(2).
func reopenMount(s sys, r *root, dst, src, fstype string, flags uintptr, data string) error {
	f, err := r.open(dst, false)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.mount(src, r.target(f, dst), r.host(dst), fstype, flags, data)
}
