package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestResolveStaysInRoot resolves hostile names inside a root with the kernel's openat2 and,
// with openat2 taken away, with pathrs-lite's emulation: both land inside the root, and an
// exact lookup refuses a symlink on the way.
func TestResolveStaysInRoot(t *testing.T) {
	for _, way := range []string{"openat2", "emulated"} {
		t.Run(way, func(t *testing.T) {
			if way == "emulated" {
				defer func(f func(int, string, *unix.OpenHow) (int, error)) { openat2 = f }(openat2)
				openat2 = func(int, string, *unix.OpenHow) (int, error) { return -1, unix.ENOSYS }
			}
			dir := t.TempDir()
			for _, d := range []string{"etc", "real/sub"} {
				if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, to := range map[string]string{"abs": "/etc", "up": "../../../../etc", "rel": "real/sub"} {
				if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
					t.Fatal(err)
				}
			}
			r, err := openRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			for name, want := range map[string]string{"abs": "etc", "up": "etc", "rel": "real/sub", "/real/../etc": "etc"} {
				h, err := r.open(name, false)
				if err != nil {
					t.Fatalf("open %s: %v", name, err)
				}
				got, err := r.name(h)
				if err != nil {
					t.Fatal(err)
				}
				if got != filepath.Join(r.path, want) {
					t.Errorf("%s resolved to %s, want %s inside the root", name, got, want)
				}
				if err := h.Close(); err != nil {
					t.Fatal(err)
				}
				if err := h.Close(); !errors.Is(err, os.ErrClosed) {
					t.Errorf("second Close of %s: %v, want os.ErrClosed (never a close of a reused number)", name, err)
				}
			}
			if h, err := r.open("abs", true); err == nil {
				h.Close()
				t.Errorf("exact open through a symlink succeeded")
			}
			h, err := r.mkdirAll(newSys(nil), "abs/made/here", false)
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close()
			if _, err := os.Stat(filepath.Join(dir, "etc/made/here")); err != nil {
				t.Errorf("mkdirAll through /etc's symlink: %v, want it made inside the root", err)
			}
		})
	}
}
