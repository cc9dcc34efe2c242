//go:build integration

package test

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hullrt/hull/runtime/initbin"
)

// `hull up` without -d and without a running daemon runs one in the foreground, streams the
// replicas' logs with their names, and on Ctrl-C (SIGINT) stops the stack gracefully and exits 0,
// leaving no container behind.
func TestSupervisorForegroundUp(t *testing.T) {
	s := newStack(t)
	_ = s.daemon.Process.Signal(syscall.SIGTERM) // this test brings its own
	_ = s.daemon.Wait()
	s.daemon = nil
	f := s.compose("compose.yaml", `
services:
  app:
    image: ./rootfs
    command: ["/bin/sh", "-c", "echo hello from $$HOSTNAME; trap 'echo bye; exit 0' TERM; while :; do sleep 0.1; done"]
    stop_grace_period: 5s
    deploy: {replicas: 2}
`)
	up := exec.Command("nsenter", append([]string{"--net=/run/netns/" + s.netns, hullBin}, append(append([]string{}, s.flags...), "up", "-f", f)...)...)
	up.Dir = s.dir
	out, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	up.Stderr = up.Stdout
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var seen []string
	// await returns once a line matches, one read earlier included: the replicas greet in
	// either order, and the other's greeting may be long read when its turn comes.
	await := func(what string, match func(string) bool) {
		t.Helper()
		if slices.ContainsFunc(seen, match) {
			return
		}
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("hull up ended before %s; it printed:\n%s", what, strings.Join(seen, "\n"))
				}
				seen = append(seen, l)
				if match(l) {
					return
				}
			case <-timeout:
				_ = up.Process.Kill()
				t.Fatalf("no %s after 30s; hull up printed:\n%s", what, strings.Join(seen, "\n"))
			}
		}
	}
	for _, r := range []string{"app-1", "app-2"} {
		await(r+"'s greeting", func(l string) bool {
			return strings.HasPrefix(l, r+" | hello from ")
		})
	}
	if ids := s.containers(); len(ids) != 2 {
		t.Fatalf("containers while up: %v", ids)
	}
	if err := up.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	await("app-1's goodbye (stop_signal, not SIGKILL)", func(l string) bool { return strings.HasPrefix(l, "app-1 | bye") })
	for range lines {
	}
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("hull up after Ctrl-C: %v; it printed:\n%s", err, strings.Join(seen, "\n"))
		}
	case <-time.After(30 * time.Second):
		_ = up.Process.Kill()
		t.Fatal("hull up still running 30s after Ctrl-C")
	}
	ids, _ := filepath.Glob(filepath.Join(s.dir, "run", "*"))
	ids = slices.DeleteFunc(ids, func(p string) bool { return filepath.Base(p) == filepath.Base(initbin.CacheDir("")) }) // hull's init cache, not a container
	if len(ids) != 0 {
		t.Errorf("containers left after Ctrl-C: %v", ids)
	}
}
