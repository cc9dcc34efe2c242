package image

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// OCI whiteouts while a layer is extracted: a .wh.NAME entry deletes NAME from the layers
// below, .wh..wh..opq makes a directory opaque. They are kept in overlayfs' own form (a 0/0
// character device, the trusted.overlay.opaque xattr) and listed in layer.json for the copy
// fallback.

// underWhiteout reports whether rel or one of its parents is a whiteout of this layer.
func (x *extractor) underWhiteout(rel string) bool {
	for p := rel; p != "." && p != ""; p = path.Dir(p) {
		if x.whited["/"+p] {
			return true
		}
	}
	return false
}

// whiteout records ".wh.NAME" and ".wh..wh..opq" entries and, as root, writes them in
// overlayfs' format so the layer directory can be a lowerdir as it is. layer.md: "Whiteout
// files MUST only apply to resources in lower/parent layers": an entry this layer itself has at
// NAME stays, and if it is a directory it becomes opaque, which hides the lower one's contents.
func (x *extractor) whiteout(pfd int, dir, base string) error {
	if base == opaqueMarker {
		return x.markOpaque(pfd, dir)
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." || strings.HasPrefix(name, whiteoutPrefix) {
		return fmt.Errorf("entry %q: invalid whiteout", path.Join(dir, base))
	}
	full := path.Join("/", dir, name)
	x.meta.Whiteouts = append(x.meta.Whiteouts, full)
	x.whited[full] = true
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil
		}
		fd, err := x.openDir(path.Join(dir, name))
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return x.markOpaque(fd, path.Join(dir, name))
	}
	if !x.privileged {
		return nil
	}
	// overlayfs(5): "A whiteout is created as a character device with 0/0 device number."
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("whiteout %s: %w", full, err)
	}
	return nil
}

// markOpaque records dir (open as fd) as opaque and, as root, sets overlayfs' xattr on it.
func (x *extractor) markOpaque(fd int, dir string) error {
	x.meta.Opaques = append(x.meta.Opaques, path.Join("/", dir))
	if !x.privileged {
		return nil
	}
	if err := unix.Fsetxattr(fd, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
		return fmt.Errorf("mark %s opaque: %w", dir, err)
	}
	return nil
}

// clear removes what is at base unless both it and the new entry are directories (a layer may
// list a path twice; the last entry wins, as with tar itself).
func (x *extractor) clear(pfd int, dir, base string, isDir bool) error {
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if isDir {
			return nil
		}
		// Every component of dir was opened without following a symlink, and the layer
		// directory is ours alone, so this path names what pfd/base names.
		gone := path.Join(dir, base)
		x.dropParentCache(gone)
		kept := x.dirs[:0]
		for _, d := range x.dirs {
			if d.rel != gone && !strings.HasPrefix(d.rel, gone+"/") {
				kept = append(kept, d)
			}
		}
		x.dirs = kept
		return os.RemoveAll(filepath.Join(x.dir, gone))
	}
	return unix.Unlinkat(pfd, base, 0)
}

// dropParentCache forgets the cached parent if it is rel or below it, since rel is going away.
func (x *extractor) dropParentCache(rel string) {
	if x.parentFd >= 0 && (x.parent == rel || strings.HasPrefix(x.parent, rel+"/")) {
		unix.Close(x.parentFd)
		x.parentFd, x.parent = -1, ""
	}
}
