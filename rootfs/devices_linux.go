package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// createDevice makes d exist in the rootfs: mknod(2) as root, or, in a user namespace
// where mknod is refused, a bind mount of the host's node over an empty file.
func createDevice(s sys, r *root, d Device) error {
	if d.Bind {
		f, err := r.createFile(s, d.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		return s.mount(d.Path, r.target(f, d.Path), r.host(d.Path), "", unix.MS_BIND, "")
	}
	parent, err := r.mkdirAll(s, filepath.Dir(d.Path), false)
	if err != nil {
		return err
	}
	defer parent.Close()
	dirfd, name, shown := int(parent.Fd()), filepath.Base(d.Path), r.host(d.Path)
	// mknodat(2) never follows a symlink at name, and dirfd was resolved inside the root.
	err = s.mknodat(dirfd, name, shown, d.Mode, d.Major, d.Minor)
	if errors.Is(err, unix.EEXIST) {
		// "If a file already exists at path that does not match the requested device,
		// the runtime MUST generate an error."
		return sameDevice(dirfd, name, d)
	}
	if err != nil {
		return err
	}
	if d.UID == 0 && d.GID == 0 {
		return nil // mknod as root already made it 0:0
	}
	return s.fchownat(dirfd, name, shown, d.UID, d.GID)
}

// sameDevice checks that the node already at name is the one d asks for.
func sameDevice(dirfd int, name string, d Device) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	want := unix.Mkdev(uint32(d.Major), uint32(d.Minor))
	if st.Mode&unix.S_IFMT != d.Mode&unix.S_IFMT || (d.Mode&unix.S_IFMT != unix.S_IFIFO && st.Rdev != want) {
		return fmt.Errorf("existing file (mode %#o, device %d:%d) does not match the requested device: %w",
			st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev), unix.EEXIST)
	}
	return nil
}

// createSymlink makes one of /dev's conventional links. An existing file is left alone,
// except for Replace (/dev/ptmx, which an image may ship as a node).
func createSymlink(s sys, r *root, l Symlink) error {
	parent, err := r.mkdirAll(s, filepath.Dir(l.Path), false)
	if err != nil {
		return err
	}
	defer parent.Close()
	dirfd, name, shown := int(parent.Fd()), filepath.Base(l.Path), r.host(l.Path)
	var st unix.Stat_t
	if l.Replace && unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		if err := s.unlinkat(dirfd, name, shown); err != nil {
			return err
		}
	}
	err = s.symlinkat(l.Target, dirfd, name, shown)
	if errors.Is(err, unix.EEXIST) && !l.Replace {
		return nil
	}
	return err
}
