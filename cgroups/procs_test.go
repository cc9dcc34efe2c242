package cgroups

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// procsUnder reads cgroup.procs of a cgroup and of every cgroup below it (here a directory
// tree shaped like one), skipping what is not a directory and a cgroup removed meanwhile.
func TestProcsUnder(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cgroup.procs", "30\n1\n")
	write("memory.max", "max\n")
	write("sub/cgroup.procs", "7\n30\n")
	write("sub/deeper/cgroup.procs", "")
	write("sub/deeper/deepest/cgroup.procs", "12\n")
	if err := os.Mkdir(filepath.Join(dir, "gone"), 0o755); err != nil { // no cgroup.procs: removed as we looked
		t.Fatal(err)
	}
	got, err := procsUnder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 7, 12, 30}; !reflect.DeepEqual(got, want) {
		t.Errorf("procsUnder = %v, want %v", got, want)
	}
	if _, err := procsUnder(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing cgroup: %v, want ErrNotExist", err)
	}
}
