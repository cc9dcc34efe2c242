package initbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadTmp := fmt.Sprintf("hull-init-new.tmp-%d-1", dead.Process.Pid) // its writer was killed
	liveTmp := fmt.Sprintf("hull-init-new.tmp-%d-99", os.Getpid())     // another writer, still at it
	for _, n := range []string{"hull-init-old", "keep.txt", deadTmp, liveTmp} {
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
	if want := "hull-init-new " + liveTmp + " keep.txt"; strings.Join(names, " ") != want {
		t.Errorf("cache holds %v, want %s", names, want)
	}
}

// TestOpenConcurrentFirstUse: goroutines of one process (the daemon starting replicas) open the
// missing copy at once and execute it as hull does (execveat of the fd, here /proc/self/fd/3)
// while the others fork: every exec must work. A writable fd to the copy alive in any process
// (another goroutine's writer, or a child forked while it was open) makes the exec fail with
// "text file busy".
func TestOpenConcurrentFirstUse(t *testing.T) {
	prog, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) to copy")
	}
	data, err := os.ReadFile(prog)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		dir := filepath.Join(t.TempDir(), "@init")
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		stop := make(chan struct{})
		forker := make(chan struct{})
		go func() { // forks as fast as it can meanwhile, as the daemon's other work does
			defer close(forker)
			for {
				select {
				case <-stop:
					return
				default:
					_ = exec.Command(prog).Run()
				}
			}
		}()
		for range 8 {
			wg.Go(func() {
				f, err := open(dir, "hull-init-abc", data, nil)
				if err != nil {
					errs <- err
					return
				}
				defer f.Close()
				cmd := exec.Command("/proc/self/fd/3")
				cmd.ExtraFiles = []*os.File{f}
				if err := cmd.Run(); err != nil {
					errs <- fmt.Errorf("round %d: exec: %w", round, err)
				}
			})
		}
		wg.Wait()
		close(stop)
		<-forker
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if t.Failed() {
			return
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 1 {
			t.Fatalf("round %d: the cache holds %d files, want the copy only", round, len(ents))
		}
	}
}
