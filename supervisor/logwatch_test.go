package supervisor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the follower goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The watch is inotify's, not a timer's: a write to a file of the directory is an event.
func TestLogWatchWakesOnWrite(t *testing.T) {
	dir := t.TempDir()
	w := newLogWatch(dir)
	defer w.close()
	if w.f == nil {
		t.Fatal("no inotify watch on an existing directory")
	}
	if err := os.WriteFile(filepath.Join(dir, "web.1.log"), []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w.events:
	case <-time.After(10 * time.Second):
		t.Fatal("no inotify event for a write")
	}
}

// logs -f: appended lines, a partial line completed later, a rotated (truncated) file, a new
// replica's file, and a directory that appears only after the follower started.
func TestTailFollows(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "proj")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- (&Supervisor{}).tail(ctx, dir, "web.", true, &out) }()
	has := func(s string) func() bool { return func() bool { return strings.Contains(out.String(), s) } }

	time.Sleep(50 * time.Millisecond) // the follower runs before the directory exists
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	f1 := filepath.Join(dir, "web.1.log")
	appendTo(t, f1, "one\n")
	waitFor(t, "the first line", has("web-1 | one\n"))
	appendTo(t, f1, "tw")
	appendTo(t, f1, "o\n")
	waitFor(t, "a line written in two parts", has("web-1 | two\n"))
	if err := os.WriteFile(f1, []byte("3\n"), 0o600); err != nil { // rotation: truncated, shorter
		t.Fatal(err)
	}
	waitFor(t, "the rotated file's line", has("web-1 | 3\n"))
	appendTo(t, filepath.Join(dir, "web.2.log"), "hello\n")
	waitFor(t, "a new replica's line", has("web-2 | hello\n"))
	appendTo(t, filepath.Join(dir, "db.1.log"), "not mine\n")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not return after its context ended")
	}
	if strings.Contains(out.String(), "not mine") || strings.Count(out.String(), "web-1 | two") != 1 {
		t.Errorf("output:\n%s", out.String())
	}
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
