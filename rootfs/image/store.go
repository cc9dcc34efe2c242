package image

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"golang.org/x/sys/unix"
)

// DefaultDir is where the store lives unless the caller says otherwise.
const DefaultDir = "/var/lib/hull/images"

// ErrNotFound is returned for an image or container the store does not hold.
var ErrNotFound = errors.New("not found")

// Store is the image store in one directory:
//
//	blobs/sha256/HEX      manifests and configs, content-addressed and verified
//	layers/HEX/diff       each layer unpacked once, named by its diffID (uncompressed digest)
//	layers/HEX/layer.json its whiteouts and opaque dirs, and whether diff is in overlayfs format
//	images/HEX.json       one record per image, named by its config digest (the image ID)
//	refs.json             names ("docker.io/library/busybox:latest") → image IDs
//	containers/ID/        a container's bundle: config.json, rootfs (the overlay), upper, work
//	tmp/                  work in progress; what a crash leaves here, prune removes
//
// Several hull processes may use one store. gc.lock is held shared by everything that adds
// references (pull, import, prepare) and exclusive by what removes (rm, prune), so a layer just
// unpacked cannot be collected before its image is recorded. meta.lock serialises the short
// read-modify-write of refs.json and the records.
type Store struct {
	dir        string
	log        *slog.Logger
	privileged bool
	noOverlay  bool // tests: take the copy fallback even as root
}

// Open opens (creating if needed) the store in dir.
func Open(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"blobs/sha256", "layers", "images", "containers", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("image store %s: %w", dir, err)
		}
	}
	return &Store{dir: dir, log: log, privileged: os.Geteuid() == 0}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) blobPath(hex string) string    { return filepath.Join(s.dir, "blobs", "sha256", hex) }
func (s *Store) layerDir(diffID string) string { return filepath.Join(s.dir, "layers", hexOf(diffID)) }
func (s *Store) imagePath(id string) string    { return filepath.Join(s.dir, "images", hexOf(id)+".json") }
func (s *Store) containerDir(id string) string { return filepath.Join(s.dir, "containers", id) }
func (s *Store) tmpDir(pattern string) (string, error) {
	return os.MkdirTemp(filepath.Join(s.dir, "tmp"), pattern)
}

// hexOf strips the algorithm from a digest: content names are sha256 only.
func hexOf(digest string) string {
	if len(digest) > 7 && digest[:7] == "sha256:" {
		return digest[7:]
	}
	return digest
}

// validHex and the other regexps here are compiled on first use: package-level work costs every
// hull process, the container's init included, at start-up.
var validHex = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-f0-9]{64}$`) })

// checkDigest refuses anything but a sha256 digest: digests become file names.
func checkDigest(d string) error {
	if len(d) != 71 || d[:7] != "sha256:" || !validHex().MatchString(d[7:]) {
		return fmt.Errorf("unsupported digest %q (sha256 only)", d)
	}
	return nil
}

// validID is runc's rule for container ids; they become directory names.
var validID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[\w+\-.]+$`) })

func checkID(id string) error {
	if !validID().MatchString(id) || id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q", id)
	}
	return nil
}

// lock takes an flock(2) on one of the store's lock files until unlock is called. flock locks
// belong to the open file, so they work between processes and between goroutines alike.
func (s *Store) lock(name string, how int) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(s.dir, name), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}

func (s *Store) lockGCShared() (func(), error)    { return s.lock("gc.lock", unix.LOCK_SH) }
func (s *Store) lockGCExclusive() (func(), error) { return s.lock("gc.lock", unix.LOCK_EX) }
func (s *Store) lockMeta() (func(), error)        { return s.lock("meta.lock", unix.LOCK_EX) }

// writeJSON writes v to path by write-temp, fsync, rename, so readers see the old or the new
// file, never half of one.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b)
}

func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}
