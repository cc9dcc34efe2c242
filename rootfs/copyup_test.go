package rootfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestCopyTree copies a small tree the way tmpcopyup fills a tmpfs: contents, modes, times,
// symlinks as symlinks (never followed) and a fifo. It needs no privilege.
func TestCopyTree(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "a/b"), 0o755))
	must(os.WriteFile(filepath.Join(src, "a/b/file"), []byte("hello"), 0o640))
	must(unix.Chmod(filepath.Join(src, "a/b/file"), 0o4750))
	must(unix.Chmod(filepath.Join(src, "a"), 0o1777))
	must(os.Symlink("/etc/passwd", filepath.Join(src, "a/escape")))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o600))
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	must(os.Chtimes(filepath.Join(src, "a/b/file"), old, old))

	from, err := os.Open(src)
	must(err)
	defer from.Close()
	to, err := os.Open(dst)
	must(err)
	defer to.Close()
	must(copyTree(from, to))

	b, err := os.ReadFile(filepath.Join(dst, "a/b/file"))
	if err != nil || string(b) != "hello" {
		t.Fatalf("file: %q, %v", b, err)
	}
	for path, want := range map[string]os.FileMode{
		"a":        os.ModeDir | os.ModeSticky | 0o777,
		"a/b":      os.ModeDir | 0o755,
		"a/b/file": os.ModeSetuid | 0o750,
		"a/escape": os.ModeSymlink | 0o777,
		"fifo":     os.ModeNamedPipe | 0o600,
	} {
		fi, err := os.Lstat(filepath.Join(dst, path))
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	if l, _ := os.Readlink(filepath.Join(dst, "a/escape")); l != "/etc/passwd" {
		t.Errorf("symlink target %q, want /etc/passwd", l)
	}
	if fi, err := os.Stat(filepath.Join(dst, "a/b/file")); err != nil || !fi.ModTime().Equal(old) {
		t.Errorf("mtime not kept: %v %v", fi.ModTime(), err)
	}
}
