//go:build integration

package test

import (
	"fmt"
	"io"
	"net"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// load is a Go client hammering an HTTP address from inside a test network namespace, one
// new connection per request (so every request goes through the balancer's choice), and
// keeping the start time and outcome of each request.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  []loadResult
}

type loadResult struct {
	start time.Time
	err   string // "" for an answer from a replica
	body  string
}

// startLoad runs workers clients against addr from the network namespace at /run/netns/ns.
func startLoad(t *testing.T, ns, addr string, workers int) *load {
	t.Helper()
	l := &load{stop: make(chan struct{})}
	ready := make(chan error, workers)
	for i := 0; i < workers; i++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			// A socket is made in the network namespace of the thread that calls socket(2):
			// this goroutine's thread joins the test's namespace and never leaves (it ends with
			// the goroutine, so no other goroutine inherits it).
			goruntime.LockOSThread()
			fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				err = unix.Setns(fd, unix.CLONE_NEWNET)
				unix.Close(fd)
			}
			ready <- err
			if err != nil {
				return
			}
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				r := request(addr)
				l.mu.Lock()
				l.res = append(l.res, r)
				l.mu.Unlock()
			}
		}()
	}
	for i := 0; i < workers; i++ {
		if err := <-ready; err != nil {
			close(l.stop)
			l.wg.Wait()
			t.Fatalf("join netns %s: %v", ns, err)
		}
	}
	t.Cleanup(l.halt)
	return l
}

func request(addr string) loadResult {
	r := loadResult{start: time.Now()}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		r.err = err.Error()
		return r
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		r.err = err.Error()
		return r
	}
	b, err := io.ReadAll(c)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	r.body = strings.TrimSpace(lines[len(lines)-1])
	switch {
	case err != nil:
		r.err = err.Error()
	case !strings.HasPrefix(string(b), "HTTP/1.0 200") || !strings.HasPrefix(r.body, "hello from "):
		r.err = fmt.Sprintf("bad answer %q", b)
	}
	return r
}

func (l *load) halt() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// results stops the load and returns what it saw.
func (l *load) results() []loadResult {
	l.halt()
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loadResult(nil), l.res...)
}

// count says how many requests there were, started at or after since, and which failed.
func (l *load) count(since time.Time) (n int, failed []loadResult) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.res {
		if r.start.Before(since) {
			continue
		}
		n++
		if r.err != "" {
			failed = append(failed, r)
		}
	}
	return n, failed
}

// summary counts answers per replica and failures, for messages.
func summary(rs []loadResult) string {
	by := map[string]int{}
	for _, r := range rs {
		if r.err != "" {
			by["error: "+r.err]++
		} else {
			by[r.body]++
		}
	}
	return fmt.Sprint(by)
}
