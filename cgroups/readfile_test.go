package cgroups

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestReadFile: readFile returns a file whole across several reads, and a missing file
// as fs.ErrNotExist, as os.ReadFile would.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("0123456789abcdef\n"), 3000) // 51 kB: more than one read
	p := filepath.Join(dir, "big")
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readFile(p)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("readFile = %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	if _, err := readFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("readFile of a missing file: %v, want fs.ErrNotExist", err)
	}
}
