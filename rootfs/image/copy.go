package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// copyLayers is the fallback where overlayfs cannot be mounted: the layers are applied in order
// onto the container's own directory. Each layer's whiteouts and opaque directories remove what
// lower layers put there, then its files are copied over, through the same extractor a pulled
// layer goes through, so the copy is as safe as the pull.
func (s *Store) copyLayers(c *Container) error {
	for _, d := range c.Layers {
		li, err := s.layerInfo(d)
		if err != nil {
			return err
		}
		for _, o := range li.Opaques {
			if err := removeBeneath(c.Rootfs, o, true); err != nil {
				return fmt.Errorf("layer %s: opaque %s: %w", d, o, err)
			}
		}
		for _, w := range li.Whiteouts {
			if err := removeBeneath(c.Rootfs, w, false); err != nil {
				return fmt.Errorf("layer %s: whiteout %s: %w", d, w, err)
			}
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := writeTar(pw, filepath.Join(s.layerDir(d), "diff"))
			pw.CloseWithError(err)
			done <- err
		}()
		_, err = extract(pr, c.Rootfs, s.privileged)
		pr.CloseWithError(errors.New("extraction stopped"))
		if werr := <-done; err == nil && werr != nil {
			err = werr
		}
		if err != nil {
			return fmt.Errorf("copy layer %s: %w", d, err)
		}
	}
	return nil
}

// removeBeneath removes rel (a path like "/etc/x") below root without following a symlink on
// the way; with onlyChildren it empties a directory instead. A path that goes through a symlink
// or does not exist has nothing to remove.
func removeBeneath(root, rel string, onlyChildren bool) error {
	rel = strings.TrimPrefix(path.Clean("/"+rel), "/")
	if rel == "" && !onlyChildren {
		return nil
	}
	dir, base := path.Split(rel)
	rfd, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rfd)
	how := &unix.OpenHow{Flags: unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	target := strings.TrimSuffix(dir, "/")
	if onlyChildren {
		target = rel
	}
	if target == "" {
		target = "."
	}
	fd, err := unix.Openat2(rfd, target, how)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// Reach the directory through the descriptor just opened, so nothing can redirect it.
	at := fmt.Sprintf("/proc/self/fd/%d", fd)
	if !onlyChildren {
		return removeAt(at, base)
	}
	ents, err := os.ReadDir(at)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := removeAt(at, e.Name()); err != nil {
			return err
		}
	}
	return nil
}

func removeAt(dir, name string) error {
	err := os.RemoveAll(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// writeTar writes the tree at root as a tar stream (PAX, with owners, xattrs, devices and hard
// links), never following a symlink. overlayfs whiteouts (0/0 character devices, never a real
// device) are left out: the layer's whiteouts are applied from its layer.json instead.
func writeTar(w io.Writer, root string) error {
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{}
	buf := make([]byte, 256*1024)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSocket != 0 {
			return nil // a socket is a live thing, not content
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		hdr.Format = tar.FormatPAX
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
		hdr.Mode = int64(st.Mode & 0o7777)
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
		addXattrs(hdr, p)
		if hdr.Typeflag == tar.TypeReg && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				links[key] = rel
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
			return nil
		}
		f, err := os.OpenFile(p, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.CopyBuffer(tw, f, buf)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// addXattrs copies a file's extended attributes into PAX records, as GNU tar --xattrs does.
func addXattrs(hdr *tar.Header, p string) {
	sz, err := unix.Llistxattr(p, nil)
	if err != nil || sz <= 0 {
		return
	}
	list := make([]byte, sz)
	if sz, err = unix.Llistxattr(p, list); err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if name == "" || strings.HasPrefix(name, "trusted.overlay.") {
			continue
		}
		vsz, err := unix.Lgetxattr(p, name, nil)
		if err != nil || vsz < 0 {
			continue
		}
		val := make([]byte, vsz)
		if vsz, err = unix.Lgetxattr(p, name, val); err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+name] = string(val[:vsz])
	}
}
