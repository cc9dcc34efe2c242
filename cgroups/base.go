package cgroups

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// base is what the v1 and v2 managers share: the path, the recorder and the bookkeeping of
// created directories.
type base struct {
	path    string
	lay     *layout
	rec     Recorder
	created []string // absolute directories New made, in creation order
	leaves  []string // the cgroup itself in each hierarchy (mount + path)
}

func newBase(path string, lay *layout, rec Recorder) *base {
	if rec == nil {
		rec = nopRecorder{}
	}
	b := &base{path: path, lay: lay, rec: rec}
	for _, m := range lay.mounts() {
		b.leaves = append(b.leaves, m+path)
	}
	return b
}

func (b *base) Path() string { return b.path }

func (b *base) Created() []string { return slices.Clone(b.created) }

// mkdirAll makes mount+path and its missing parents, and records the levels that did not exist,
// which is what tells Delete later which directories are ours. mkdir on a cgroup filesystem
// is what creates a cgroup: the kernel fills the new directory with the controllers' files.
func (b *base) mkdirAll(mount string) error { return b.mkdir(mount, b.path) }

// mkdir makes mount+path, trying the deepest level first: where the parents exist, as they
// usually do (/hull, a pod's cgroup), that is one mkdir per hierarchy, not one per level.
// A missing parent (ENOENT) is made first, so creation order stays parents first.
func (b *base) mkdir(mount, path string) error {
	if path == "/" {
		return nil
	}
	dir := mount + path
	t0 := time.Now()
	err := unix.Mkdir(dir, 0o755)
	if err == unix.ENOENT {
		if err := b.mkdir(mount, filepath.Dir(path)); err != nil {
			return err
		}
		t0 = time.Now()
		err = unix.Mkdir(dir, 0o755)
	}
	if err == unix.EEXIST {
		return nil
	}
	b.rec.Step("cgroup.mkdir", dir, err, time.Since(t0))
	if err != nil {
		return fmt.Errorf("mkdir %s: %w", dir, err)
	}
	b.created = append(b.created, dir)
	return nil
}

// Delete removes the created directories deepest first. rmdir(2) on a cgroup succeeds only
// when it has no processes and no child cgroups; the files inside need no unlinking. A
// directory already gone is fine. A parent we created that now holds another container's
// cgroup is left alone: it is still in use.
func (b *base) Delete() error {
	var errs []error
	for i := len(b.created) - 1; i >= 0; i-- {
		d := b.created[i]
		leaf := slices.Contains(b.leaves, d)
		t0 := time.Now()
		err := rmdir(d, leaf)
		b.rec.Step("cgroup.rmdir", d, err, time.Since(t0))
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
		case !leaf && (errors.Is(err, unix.EBUSY) || errors.Is(err, unix.ENOTEMPTY)):
		default:
			errs = append(errs, fmt.Errorf("rmdir %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// rmdir retries a leaf for a short while on EBUSY: processes that were just killed leave
// the cgroup a moment after the signal.
func rmdir(d string, leaf bool) error {
	delay := 5 * time.Millisecond
	for i := 0; ; i++ {
		err := unix.Rmdir(d)
		if err != unix.EBUSY || !leaf || i == 5 {
			return err
		}
		time.Sleep(delay)
		delay *= 2
	}
}

// write puts one value into one cgroup file, as the kernel wants it: a single write(2) of
// the whole value (the parsers take one value per write, so no buffering).
func (b *base) write(dir, file, val string) error {
	return b.record(dir, file, val, func(p string) error { return writeFile(p, val) })
}

// record runs one write of val to dir/file and records it as a step.
func (b *base) record(dir, file, val string, write func(p string) error) error {
	p := dir + "/" + file
	t0 := time.Now()
	err := write(p)
	b.rec.Step("cgroup.write", fmt.Sprintf("%s=%s in %s", file, val, dir), err, time.Since(t0))
	if err != nil {
		return fmt.Errorf("write %q to %s: %w", val, p, err)
	}
	return nil
}

func writeFile(p, val string) error {
	fd, err := unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(val))
	return err
}

// step records one library call that hides its individual writes.
func (b *base) step(op, args string, t0 time.Time, err error) {
	b.rec.Step(op, args, err, time.Since(t0))
}

func exists(p string) bool {
	return unix.Access(p, unix.F_OK) == nil
}

// present remembers which files of one set of writes exist: a spec's device rules go to the
// same two files (devices.allow, devices.deny) some twenty times, and each access(2) walks
// the cgroupfs path again. The cgroup is hull's, so nothing removes its files meanwhile.
type present map[string]bool

func (p present) has(path string) bool {
	v, ok := p[path]
	if !ok {
		v = exists(path)
		p[path] = v
	}
	return v
}

func readString(p string) (string, error) {
	data, err := readFile(p)
	return strings.TrimSpace(string(data)), err
}

// readFile reads a kernel file (a cgroup's, /proc's) whole with plain system calls. Not
// os.ReadFile: these files can be polled, so an *os.File would register each with Go's
// netpoller and take it out again at Close, four fcntl(2) and two epoll_ctl(2) a file.
func readFile(p string) ([]byte, error) {
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, &os.PathError{Op: "read", Path: p, Err: err}
		case n == 0:
			return out, nil
		}
		out = append(out, buf[:n]...)
		if n == len(buf) && len(buf) < 1<<20 {
			buf = make([]byte, 2*len(buf)) // a long mountinfo: fewer reads
		}
	}
}

// checkWrites verifies, before anything is written, that every file the spec needs exists,
// so that a spec asking for something the host lacks fails cleanly instead of half-applied.
// dirOf returns the cgroup directory holding a controller's files, "" if the host lacks it.
func checkWrites(ws []write, dirOf func(ctrl string) string, files present) error {
	for _, w := range ws {
		d := dirOf(w.ctrl)
		if d != "" && (files.has(filepath.Join(d, w.file)) || (w.alt != "" && files.has(filepath.Join(d, w.alt)))) {
			continue
		}
		if w.optional {
			continue
		}
		if d == "" {
			return fmt.Errorf("%s: the %s controller is not available on this host: %w", w.field, w.ctrl, errors.ErrUnsupported)
		}
		return fmt.Errorf("%s: %s is not available on this host (no such file in %s): %w", w.field, w.file, d, errors.ErrUnsupported)
	}
	return nil
}

// applyWrites writes ws in order, using a write's alternative file when the first is absent.
// Consecutive writes to one file (device rules) share one open(2) of it: each write(2) is
// still one value, which is what the kernel parses.
func (b *base) applyWrites(ws []write, dirOf func(ctrl string) string, files present) error {
	var open string // the file fd is open on
	fd := -1
	defer func() {
		if fd >= 0 {
			unix.Close(fd)
		}
	}()
	writeTo := func(p string, val string) error {
		if p != open {
			if fd >= 0 {
				unix.Close(fd)
			}
			var err error
			if fd, err = unix.Open(p, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0); err != nil {
				open = ""
				return err
			}
			open = p
		}
		_, err := unix.Write(fd, []byte(val))
		return err
	}
	for _, w := range ws {
		d := dirOf(w.ctrl)
		if d == "" {
			continue // optional, and the host lacks the controller
		}
		file, val := w.file, w.value
		if !files.has(filepath.Join(d, file)) {
			if w.alt == "" || !files.has(filepath.Join(d, w.alt)) {
				continue // optional and absent: checkWrites let it through
			}
			file, val = w.alt, w.altValue
		}
		if err := b.record(d, file, val, func(p string) error { return writeTo(p, val) }); err != nil {
			return fmt.Errorf("%s: %w", w.field, err)
		}
	}
	return nil
}
