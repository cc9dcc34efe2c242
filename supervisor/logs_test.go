package supervisor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The writer keeps its O_APPEND fd across rotations, as a container's stdout does.
func TestRotateKeepsTheWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "web.1.log")
	w, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := 0; i < 5; i++ {
		if _, err := w.WriteString(strings.Repeat(string(rune('a'+i)), 100) + "\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate(path, 100, 3); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.WriteString("after\n"); err != nil {
		t.Fatal(err)
	}
	cur, _ := os.ReadFile(path)
	if string(cur) != "after\n" {
		t.Errorf("current file %q: the writer did not continue at the start of the truncated file", cur)
	}
	one, _ := os.ReadFile(path + ".1")
	two, _ := os.ReadFile(path + ".2")
	if !strings.HasPrefix(string(one), "eee") || !strings.HasPrefix(string(two), "ddd") {
		t.Errorf(".1 %q .2 %q", one[:3], two[:3])
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more than 3 files kept")
	}
	if rotated, _ := rotate(path, 100, 3); rotated {
		t.Error("rotated a file below the size")
	}
}
