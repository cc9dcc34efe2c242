package initproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookPath: the error texts are part of the contract. Docker and podman map
// "executable file not found" and "no such file or directory" to exit 127 and
// "permission denied" to 126, matching case-sensitively.
func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin, other := filepath.Join(dir, "bin"), filepath.Join(dir, "other")
	for _, d := range []string{bin, other, filepath.Join(bin, "adir")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // umask
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "tool"), 0o755)
	write(filepath.Join(bin, "plain"), 0o644)
	write(filepath.Join(other, "plain"), 0o755) // later in PATH than the non-executable one
	write(filepath.Join(other, "late"), 0o755)
	path := "PATH=" + bin + ":" + other

	ok := []struct{ arg0, env, want string }{
		{filepath.Join(bin, "tool"), "", filepath.Join(bin, "tool")},
		{"tool", path, filepath.Join(bin, "tool")},
		{"late", path, filepath.Join(other, "late")},
		{"plain", path, filepath.Join(other, "plain")}, // a non-executable match is skipped, as execvp does
	}
	for _, c := range ok {
		got, err := LookPath(c.arg0, []string{"HOME=/", c.env})
		if err != nil || got != c.want {
			t.Errorf("lookPath(%q, %q) = %q, %v; want %q", c.arg0, c.env, got, err, c.want)
		}
	}
	bad := []struct{ arg0, env, want string }{
		{filepath.Join(dir, "nonexistent"), path, "no such file or directory"},
		{filepath.Join(bin, "plain"), path, "permission denied"},
		{filepath.Join(bin, "adir"), path, "permission denied"},
		{"nonexistent", path, "executable file not found"},
		{"adir", path, "executable file not found"},
		{"tool", "PATH=" + other, "executable file not found"},
		{"tool", "", "executable file not found"}, // no PATH at all
		{filepath.Join(bin, "tool", "sub"), path, "not a directory"},
	}
	for _, c := range bad {
		_, err := LookPath(c.arg0, []string{c.env})
		if err == nil {
			t.Errorf("lookPath(%q, %q) succeeded", c.arg0, c.env)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("lookPath(%q, %q) = %q, want it to contain %q", c.arg0, c.env, err, c.want)
		}
		if !strings.Contains(err.Error(), c.arg0) {
			t.Errorf("lookPath(%q): the error does not name the program: %q", c.arg0, err)
		}
	}
}
