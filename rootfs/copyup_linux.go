package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// copyUp fills the tmpfs just mounted at m.Destination with a copy of lower, the directory
// it now covers, as runc's tmpcopyup extension does: podman's --tmpfs and --read-only mount
// /run, /tmp and /var/tmp this way, so they keep what the image put there. The tmpfs root
// takes lower's mode, as in runc (1.1), unless the options say mode=, which runc overrides
// and hull honours; its owner stays root (or uid=, gid=), as in runc.
//
// lower was opened before the mount and so still names the covered directory; the copy
// goes through file descriptors only (openat, mkdirat, ... with O_NOFOLLOW), so a symlink
// in the image is copied as a symlink and never followed.
func copyUp(s sys, r *root, lower *os.File, m MountStep) error {
	start := time.Now()
	err := func() error {
		f, err := r.open(m.Destination, false)
		if err != nil {
			return err
		}
		defer f.Close()
		upper, err := openDir(f, ".")
		if err != nil {
			return err
		}
		defer upper.Close()
		if err := copyTree(lower, upper); err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(lower.Fd()), &st); err != nil {
			return err
		}
		if strings.Contains(","+m.Data, ",mode=") {
			return nil
		}
		return unix.Fchmod(int(upper.Fd()), st.Mode&0o7777)
	}()
	s.rec.Step("copyup", fmt.Sprintf("%s (the directory under the tmpfs) into the tmpfs", r.host(m.Destination)), err, time.Since(start))
	if err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	return nil
}

// openDir opens directory name under dir for reading, without following a symlink.
func openDir(dir interface{ Fd() uintptr }, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// copyTree copies every entry of directory src into directory dst: directories, regular
// files, symlinks and device, fifo and socket nodes, with owner, mode and times. Hard links
// become separate files, as in runc.
func copyTree(src, dst *os.File) error {
	names, err := src.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(src, dst, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(src, dst *os.File, name string) error {
	sfd, dfd := int(src.Fd()), int(dst.Fd())
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
			return err
		}
		from, err := openDir(src, name)
		if err != nil {
			return err
		}
		defer from.Close()
		to, err := openDir(dst, name)
		if err != nil {
			return err
		}
		defer to.Close()
		if err := copyTree(from, to); err != nil {
			return err
		}
	case unix.S_IFREG:
		if err := copyFile(sfd, dfd, name); err != nil {
			return err
		}
	case unix.S_IFLNK:
		target, err := readlinkat(sfd, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return err
		}
	default: // character and block devices, fifos, sockets
		if err := unix.Mknodat(dfd, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	// chown before chmod: chown(2) clears the set-user-ID and set-group-ID bits.
	if err := unix.Fchownat(dfd, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Fchmodat(dfd, name, perm, 0); err != nil {
			return err
		}
	}
	times := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(dfd, name, times, unix.AT_SYMLINK_NOFOLLOW)
}

func copyFile(sfd, dfd int, name string) error {
	in, err := unix.Openat(sfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	from := os.NewFile(uintptr(in), name)
	defer from.Close()
	out, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	to := os.NewFile(uintptr(out), name)
	_, err = io.Copy(to, from)
	return errors.Join(err, to.Close())
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
