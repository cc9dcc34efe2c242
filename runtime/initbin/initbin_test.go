package initbin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type steps []string

func (s *steps) Step(op, args string, err error, took time.Duration) { *s = append(*s, op+" "+args) }

// TestOpenWritesOnceAndChecks: the first open writes the copy (mode 0555, dir 0700), later ones
// only open it, and a copy that is not what was written (mode, size, another file) is written
// again before it is handed out.
func TestOpenWritesOnceAndChecks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "@init")
	data := []byte("#!/bin/true\nnot really an init\n")
	var rec steps
	open1 := func() *os.File {
		t.Helper()
		f, err := open(dir, "hull-init-abc", data, &rec)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		b := make([]byte, len(data)+1)
		if n, _ := f.ReadAt(b, 0); string(b[:n]) != string(data) {
			t.Fatalf("the copy holds %q", b[:n])
		}
		return f
	}
	open1()
	if len(rec) != 1 || !strings.HasPrefix(rec[0], "write "+dir+"/hull-init-abc") {
		t.Fatalf("first open recorded %q, want one write", rec)
	}
	path := filepath.Join(dir, "hull-init-abc")
	for p, want := range map[string]os.FileMode{path: fileMode, dir: 0o700 | os.ModeDir} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Fatalf("%s: %v %v, want %v", p, fi.Mode(), err, want)
		}
	}
	open1()
	if len(rec) != 1 {
		t.Fatalf("second open recorded %q, want nothing written", rec)
	}
	// Each spoils one property only, and works without root too.
	for name, spoil := range map[string]func() error{
		"mode": func() error { return os.Chmod(path, 0o755) },
		"size": func() error {
			if err := os.Chmod(path, 0o700); err != nil {
				return err
			}
			if err := os.Truncate(path, 3); err != nil {
				return err
			}
			return os.Chmod(path, fileMode)
		},
		"links": func() error { return os.Link(path, path+"-extra") },
		"file": func() error {
			if err := os.Remove(path); err != nil {
				return err
			}
			if err := os.Symlink("/bin/true", path); err != nil {
				return err
			}
			return nil
		},
	} {
		n := len(rec)
		if err := spoil(); err != nil {
			t.Fatal(name, err)
		}
		open1()
		if len(rec) != n+1 {
			t.Errorf("%s: recorded %q, want the copy written again", name, rec[n:])
		}
		os.Remove(path + "-extra")
	}
}

// TestOpenRefusesOpenDir: a cache directory others may write to could hold anyone's init.
func TestOpenRefusesOpenDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "@init")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if f, err := open(dir, "hull-init-abc", []byte("x"), nil); err == nil || !strings.Contains(err.Error(), "closed to others") {
		t.Fatalf("open in a 0777 dir: %v, %v; want an error", f, err)
	}
}

// TestOpenRemovesStale: an upgrade's new copy removes the old build's, not unrelated files.
func TestOpenRemovesStale(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "@init")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"hull-init-old", "keep.txt"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o500); err != nil {
			t.Fatal(err)
		}
	}
	f, err := open(dir, "hull-init-new", []byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "hull-init-new keep.txt" {
		t.Errorf("cache holds %v, want hull-init-new and keep.txt", names)
	}
}
