package image

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits on what one tar entry may carry. The kernel refuses longer names anyway; refusing them
// here gives a clear error before any file is made.
const (
	maxPath      = 4096      // PATH_MAX
	maxComponent = 255       // NAME_MAX
	maxXattrs    = 128       // per entry
	maxXattrSize = 64 * 1024 // XATTR_SIZE_MAX
)

// The OCI layer format's markers (image-spec layer.md, "Whiteouts"): ".wh.NAME" deletes NAME from
// the layers below, ".wh..wh..opq" hides every lower entry of its directory.
const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
)

// layerMeta is what extraction learns about a layer beyond its files: the whiteouts and opaque
// directories (kept here too, so the copy fallback does not need overlayfs' on-disk format) and
// whether the layer directory is in overlayfs' format (whiteouts as 0/0 character devices,
// opaque directories marked with the trusted.overlay.opaque xattr), which takes root.
type layerMeta struct {
	Whiteouts []string `json:"whiteouts,omitempty"` // paths relative to the layer root
	Opaques   []string `json:"opaques,omitempty"`
	Size      int64    `json:"size"`    // bytes of regular file content
	Overlay   bool     `json:"overlay"` // usable as an overlayfs lowerdir
	Skipped   int      `json:"skipped,omitempty"`
}

// extractor unpacks one layer tarball into dir. It never follows a symlink: every parent
// directory is opened with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) below dir, and every
// file is made with the *at calls relative to that descriptor, so no entry, however named, can
// reach outside dir.
type extractor struct {
	root       int // fd of dir
	dir        string
	privileged bool // root: chown, mknod, overlay whiteouts, trusted.* and security.* xattrs
	meta       layerMeta
	dirs       []dirAttr // directory modes and times, applied last so a 0555 dir can still be filled
	parent     string    // the cached parent directory
	parentFd   int
	whited     map[string]bool // this layer's whiteouts
	buf        []byte
}

type dirAttr struct {
	rel string
	hdr *tar.Header
}

// extract unpacks the tar stream r into dir, which must exist and be empty. On error dir holds
// a partial layer: the caller extracts into a temporary directory and removes it.
func extract(r io.Reader, dir string, privileged bool) (layerMeta, error) {
	fd, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return layerMeta{}, fmt.Errorf("open %s: %w", dir, err)
	}
	x := &extractor{root: fd, dir: dir, privileged: privileged, parentFd: -1, whited: map[string]bool{}, buf: make([]byte, 256*1024)}
	defer x.close()
	x.meta.Overlay = privileged
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return x.meta, fmt.Errorf("read layer: %w", err)
		}
		if err := x.entry(tr, hdr); err != nil {
			return x.meta, err
		}
	}
	// A tar stream ends with zero blocks, but gzip may hold more: read to the end so the
	// caller's digest covers every byte.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return x.meta, fmt.Errorf("read layer: %w", err)
	}
	for i := len(x.dirs) - 1; i >= 0; i-- {
		if err := x.finishDir(x.dirs[i]); err != nil {
			return x.meta, err
		}
	}
	return x.meta, nil
}

func (x *extractor) close() {
	if x.parentFd >= 0 {
		unix.Close(x.parentFd)
	}
	unix.Close(x.root)
}

// cleanName checks a tar entry name and returns it relative to the layer root ("" for the root
// itself). Absolute names and names climbing out with ".." are refused, not rewritten: a layer
// that carries them was made to attack its reader.
func cleanName(name string) (string, error) {
	if len(name) > maxPath {
		return "", fmt.Errorf("entry name of %d bytes is longer than PATH_MAX", len(name))
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("entry %q: name contains a NUL byte", name)
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("entry %q: absolute path", name)
	}
	c := path.Clean(name)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("entry %q: path climbs out of the layer", name)
	}
	if c == "." {
		return "", nil
	}
	for _, part := range strings.Split(c, "/") {
		if len(part) > maxComponent {
			return "", fmt.Errorf("entry %q: a component is longer than NAME_MAX", name)
		}
	}
	return c, nil
}

func (x *extractor) entry(tr *tar.Reader, hdr *tar.Header) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if isSparse(hdr) {
		// archive/tar expands a sparse map into zeros that are in no input byte: a few bytes of
		// header could declare exabytes. Image tools never write sparse entries.
		return fmt.Errorf("entry %q: sparse files are not supported", hdr.Name)
	}
	if rel == "" {
		return nil // the layer root: its directory is ours
	}
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	pfd, err := x.openParent(dir)
	if err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return x.whiteout(pfd, dir, base)
	}
	if err := x.clear(pfd, dir, base, hdr.Typeflag == tar.TypeDir); err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	if err := x.make(tr, hdr, pfd, rel, base); err != nil {
		return fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	return nil
}

func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

// openParent returns a descriptor of the directory rel (relative to the layer root), making
// missing directories on the way. A symlink anywhere on the path is refused: it would let a later
// entry write where the symlink points.
func (x *extractor) openParent(rel string) (int, error) {
	if rel == "" {
		return x.root, nil
	}
	if x.parentFd >= 0 && x.parent == rel {
		return x.parentFd, nil
	}
	fd, err := x.openDir(rel)
	if errors.Is(err, unix.ENOENT) || (errors.Is(err, unix.ENOTDIR) && x.underWhiteout(rel)) {
		if err = x.mkdirAll(rel); err == nil {
			fd, err = x.openDir(rel)
		}
	}
	if err != nil {
		return -1, err
	}
	if x.parentFd >= 0 {
		unix.Close(x.parentFd)
	}
	x.parent, x.parentFd = rel, fd
	return fd, nil
}

func (x *extractor) openDir(rel string) (int, error) {
	fd, err := unix.Openat2(x.root, rel, &unix.OpenHow{
		Flags:   unix.O_DIRECTORY | unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOTDIR):
		return -1, fmt.Errorf("directory %s: path goes through a symlink or a non-directory: %w", rel, err)
	case errors.Is(err, unix.EXDEV):
		return -1, fmt.Errorf("directory %s: path leaves the layer", rel)
	}
	return -1, fmt.Errorf("open directory %s: %w", rel, err)
}

// mkdirAll makes the missing directories of rel, one component at a time, each below a
// descriptor of its parent.
func (x *extractor) mkdirAll(rel string) error {
	parts := strings.Split(rel, "/")
	fd := x.root
	defer func() {
		if fd != x.root {
			unix.Close(fd)
		}
	}()
	for i, p := range parts {
		sofar := strings.Join(parts[:i+1], "/")
		if x.whited["/"+sofar] {
			// This layer whited the path out and now puts a directory there: the whiteout
			// device gives way, and the directory hides the lower one's contents.
			var st unix.Stat_t
			if err := unix.Fstatat(fd, p, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0 {
				if err := unix.Unlinkat(fd, p, 0); err != nil {
					return fmt.Errorf("replace whiteout %s: %w", sofar, err)
				}
			}
		}
		err := unix.Mkdirat(fd, p, 0o755)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("mkdir %s: %w", rel, err)
		}
		next, err := unix.Openat(fd, p, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
				return fmt.Errorf("directory %s: a path component is a symlink or not a directory", rel)
			}
			return fmt.Errorf("open %s: %w", rel, err)
		}
		if fd != x.root {
			unix.Close(fd)
		}
		fd = next
		if err == nil && x.whited["/"+sofar] {
			if err := x.markOpaque(fd, sofar); err != nil {
				return err
			}
		}
	}
	return nil
}

// make creates one entry below pfd.
func (x *extractor) make(tr *tar.Reader, hdr *tar.Header, pfd int, rel, base string) error {
	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			return err
		}
		x.dirs = append(x.dirs, dirAttr{rel: rel, hdr: hdr})
		if x.whited["/"+rel] {
			fd, err := x.openDir(rel)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			return x.markOpaque(fd, rel)
		}
		return nil
	case tar.TypeReg, tar.TypeRegA:
		if err := x.file(tr, hdr, pfd, base, mode); err != nil {
			return err
		}
	case tar.TypeSymlink:
		if len(hdr.Linkname) > maxPath || strings.IndexByte(hdr.Linkname, 0) >= 0 || hdr.Linkname == "" {
			return errors.New("invalid symlink target")
		}
		// The target is only data: nothing here ever follows it.
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return err
		}
	case tar.TypeLink:
		if err := x.hardlink(hdr, pfd, base); err != nil {
			return err
		}
		return nil // a hard link shares its target's inode: owner, mode, xattrs are the target's
	case tar.TypeChar, tar.TypeBlock:
		if !x.privileged {
			x.meta.Skipped++ // only root may make device nodes
			return nil
		}
		kind := uint32(unix.S_IFCHR)
		if hdr.Typeflag == tar.TypeBlock {
			kind = unix.S_IFBLK
		}
		if err := unix.Mknodat(pfd, base, kind|mode, int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))); err != nil {
			return err
		}
	case tar.TypeFifo:
		if err := unix.Mknodat(pfd, base, unix.S_IFIFO|mode, 0); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return x.attrs(hdr, pfd, rel, base, mode)
}

func (x *extractor) file(tr *tar.Reader, hdr *tar.Header, pfd int, base string, mode uint32) error {
	fd, err := unix.Openat(pfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, tr, x.buf)
	x.meta.Size += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func (x *extractor) hardlink(hdr *tar.Header, pfd int, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil || target == "" {
		return fmt.Errorf("hard link target %q is outside the layer", hdr.Linkname)
	}
	tdir, tbase := path.Split(target)
	tdir = strings.TrimSuffix(tdir, "/")
	tfd := x.root
	if tdir != "" {
		if tfd, err = x.openDir(tdir); err != nil {
			return fmt.Errorf("hard link target %q: %w", hdr.Linkname, err)
		}
		defer unix.Close(tfd)
	}
	// No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself, never what it names.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	return nil
}

// attrs applies ownership, mode, xattrs and times to a non-directory entry.
func (x *extractor) attrs(hdr *tar.Header, pfd int, rel, base string, mode uint32) error {
	isLink := hdr.Typeflag == tar.TypeSymlink
	if x.privileged {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown: %w", err)
		}
	}
	if !isLink {
		// After chown, which clears setuid and setgid bits.
		if err := unix.Fchmodat(pfd, base, mode, 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := x.xattrs(hdr, rel); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

func (x *extractor) finishDir(d dirAttr) error {
	fd, err := x.openDir(d.rel)
	if err != nil {
		return fmt.Errorf("entry %q: %w", d.hdr.Name, err)
	}
	defer unix.Close(fd)
	if x.privileged {
		if err := unix.Fchown(fd, d.hdr.Uid, d.hdr.Gid); err != nil {
			return fmt.Errorf("entry %q: chown: %w", d.hdr.Name, err)
		}
	}
	if err := unix.Fchmod(fd, uint32(d.hdr.Mode)&0o7777); err != nil {
		return fmt.Errorf("entry %q: chmod: %w", d.hdr.Name, err)
	}
	if err := x.xattrs(d.hdr, d.rel); err != nil {
		return err
	}
	at := d.hdr.AccessTime
	if at.IsZero() {
		at = d.hdr.ModTime
	}
	if err := unix.Futimes(fd, []unix.Timeval{unix.NsecToTimeval(at.UnixNano()), unix.NsecToTimeval(d.hdr.ModTime.UnixNano())}); err != nil {
		return fmt.Errorf("entry %q: set times: %w", d.hdr.Name, err)
	}
	return nil
}

// xattrs sets the entry's extended attributes (PAX "SCHILY.xattr.NAME" records). overlayfs'
// own attributes are dropped: a layer could otherwise forge opaque directories or redirects.
// Without root, only user.* attributes can be set; the others are skipped.
func (x *extractor) xattrs(hdr *tar.Header, rel string) error {
	n := 0
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if n++; n > maxXattrs || len(name) > 255 || len(v) > maxXattrSize {
			return fmt.Errorf("entry %q: too many or too large xattrs", hdr.Name)
		}
		if strings.HasPrefix(name, "trusted.overlay.") || strings.HasPrefix(name, "user.overlay.") {
			continue
		}
		if !x.privileged && !strings.HasPrefix(name, "user.") {
			continue
		}
		err := unix.Lsetxattr(filepath.Join(x.dir, rel), name, []byte(v), 0)
		if err != nil && !errors.Is(err, unix.ENOTSUP) && !(errors.Is(err, unix.EPERM) && hdr.Typeflag == tar.TypeSymlink) {
			return fmt.Errorf("entry %q: xattr %s: %w", hdr.Name, name, err)
		}
	}
	return nil
}

func setTimes(fd int, base string, hdr *tar.Header) error {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	if err := unix.UtimesNanoAt(fd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
