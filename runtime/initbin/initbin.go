package initbin

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// sum names the embedded init's cached copy: the first 16 hex digits of its SHA-256, set by
// the Makefile (-X). Without it, it is computed on first use (≈2 ms).
var sum string

// fileMode is the copy's mode: nobody may write it, and everybody may execute it, for the init
// of a new user namespace runs as that namespace's root, an unprivileged uid on the host. The
// directory, mode 0700, keeps everyone but root from reaching it by path.
const fileMode = 0o555

// Recorder receives one record per kernel step (runtime.Runtime is one).
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// Embedded reports whether this hull carries the lean init.
func Embedded() bool { return len(embedded) > 0 }

// CacheDir is where Open keeps the copy under a state root. Its name is no container id
// ('@' is not allowed in one), so no container can be given it and `list` never shows it.
func CacheDir(root string) string { return filepath.Join(root, "@init") }

// Open returns the embedded init for execveat, read-only: the cached copy under root, written
// on first use. It returns nil, nil when hull carries no init (Embedded). The file must stay open
// until the init has been executed from it.
func Open(root string, rec Recorder) (*os.File, error) {
	if !Embedded() {
		return nil, nil
	}
	if sum == "" {
		h := sha256.Sum256(embedded)
		sum = hex.EncodeToString(h[:8])
	}
	return open(CacheDir(root), "hull-init-"+sum, embedded, rec)
}

// OpenCopy is Open for another embedded executable: the lean hull carries the full one
// (cmd/hull, tag hulllean) and runs it from a copy kept the same way, named name (which must
// end in "-" and a hash of data, as the init's does: older copies of the same prefix go).
func OpenCopy(root, name string, data []byte, rec Recorder) (*os.File, error) {
	return open(CacheDir(root), name, data, rec)
}

// installMu makes one goroutine of a process (the daemon starts replicas concurrently) write a
// missing copy while the others wait and then find it.
var installMu sync.Mutex

// open opens dir/name, checked to be our data, and (re)writes it when it is missing or
// not what it should be.
func open(dir, name string, data []byte, rec Recorder) (*os.File, error) {
	if f, err := openInstalled(dir, name, int64(len(data))); err == nil {
		return f, nil // the common case, lock-free
	}
	installMu.Lock()
	defer installMu.Unlock()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("init cache: %w", err)
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("init cache: open %s: %w", dir, err)
	}
	defer unix.Close(dfd)
	if err := checkDir(dfd, dir); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		f, err := openChecked(dfd, dir, name, int64(len(data)))
		if err == nil || attempt == 1 {
			return f, err
		}
		t0 := time.Now()
		err = write(dfd, name, data)
		if rec != nil {
			rec.Step("write", fmt.Sprintf("%s/%s (embedded in hull, %d bytes, mode 0555)", dir, name, len(data)), err, time.Since(t0))
		}
		if err != nil {
			return nil, fmt.Errorf("init cache: write %s/%s: %w", dir, name, err)
		}
		removeStale(dfd, name)
	}
}

// openInstalled is the fast path: the copy is there and good (openChecked). The directory's
// checks are open's, on every path that may write.
func openInstalled(dir, name string, size int64) (*os.File, error) {
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	if err := checkDir(dfd, dir); err != nil {
		return nil, err
	}
	return openChecked(dfd, dir, name, size)
}

// checkDir refuses a cache directory others may write in: they could replace the init that
// root will run.
func checkDir(dfd int, dir string) error {
	var st unix.Stat_t
	if err := unix.Fstat(dfd, &st); err != nil {
		return fmt.Errorf("init cache: stat %s: %w", dir, err)
	}
	if st.Uid != uint32(os.Geteuid()) || st.Mode&0o077 != 0 {
		return fmt.Errorf("init cache: %s must be owned by uid %d and closed to others (mode %#o)", dir, os.Geteuid(), st.Mode&0o7777)
	}
	return nil
}

// openChecked opens the cached copy and checks it by fstat: a regular file of ours, mode 0555,
// one link, the embedded size. Anything else (missing, truncated, changed) is an error.
func openChecked(dfd int, dir, name string, size int64) (*os.File, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || st.Uid != uint32(os.Geteuid()) || st.Mode&0o7777 != fileMode || st.Nlink != 1 || st.Size != size {
		unix.Close(fd)
		return nil, fmt.Errorf("%s/%s is not hull's copy (mode %#o, uid %d, %d links, %d bytes)", dir, name, st.Mode, st.Uid, st.Nlink, st.Size)
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, name)), nil
}

// tmpSeq tells apart the temp files of one process's writers.
var tmpSeq atomic.Uint64

// write puts data at dir/name by write-temp and rename, so no one ever runs a half-written
// init. Executing a file that any process holds open for writing fails with ETXTBSY, so the
// writable fd must be gone before the rename, in every process: it is closed first, and it
// exists only under syscall.ForkLock (read side), which Go's fork takes for writing, so no child
// forked meanwhile by another goroutine (the daemon starts replicas concurrently) inherits it
// for the moment before its exec closes it.
func write(dfd int, name string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp-%d-%d", name, os.Getpid(), tmpSeq.Add(1))
	syscall.ForkLock.RLock()
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, fileMode)
	if err != nil {
		syscall.ForkLock.RUnlock()
		return err
	}
	err = writeAll(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, fileMode) // whatever the umask
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	syscall.ForkLock.RUnlock()
	if err == nil {
		err = unix.Renameat(dfd, tmp, dfd, name)
	}
	if err != nil {
		_ = unix.Unlinkat(dfd, tmp, 0)
	}
	return err
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// removeStale removes the copies of other hull builds (an upgrade leaves the old one) of the
// program keep is a copy of, best effort: an older hull still running finds its copy gone and
// writes it again. A temp file is removed once the process that was writing it is gone (killed
// mid-write).
func removeStale(dfd int, keep string) {
	d := os.NewFile(uintptr(dupCloexec(dfd)), "init cache")
	if d == nil {
		return
	}
	defer d.Close()
	names, _ := d.Readdirnames(-1)
	prefix := keep[:strings.LastIndex(keep, "-")+1] // "hull-init-": only copies of the same program
	for _, n := range names {
		if n == keep || !strings.HasPrefix(n, prefix) {
			continue
		}
		if _, rest, isTmp := strings.Cut(n, ".tmp-"); isTmp && writerAlive(rest) {
			continue
		}
		_ = unix.Unlinkat(dfd, n, 0)
	}
}

// writerAlive reads the pid from a temp file's "PID-SEQ" suffix and reports whether that
// process still runs (or the name cannot be read: then the file is left alone).
func writerAlive(suffix string) bool {
	pid, err := strconv.Atoi(strings.SplitN(suffix, "-", 2)[0])
	if err != nil || pid <= 0 {
		return true
	}
	return unix.Kill(pid, 0) != unix.ESRCH
}

func dupCloexec(fd int) int {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return nfd
}
