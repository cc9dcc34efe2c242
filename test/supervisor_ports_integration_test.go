//go:build integration

package test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A service's published port answers on the daemon's host (here: its network namespace), from
// 127.0.0.1 too, and spreads new connections over every ready replica; after a replica is
// killed the port keeps answering from the others and then from its replacement.
func TestSupervisorPublishedPortSpreads(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", fmt.Sprintf(webService, 3)+`    ports: ["18080:80"]
`)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("3 healthy replicas", 30*time.Second, func() bool { return len(s.running("web", true)) == 3 })
	// busybox nc, not wget: Debian's static busybox wget crashes in its name-service lookups.
	// nc half-closes after the request, which the 127.0.0.1 relay must carry through.
	get := func() string {
		cmd := exec.Command("nsenter", "--net=/run/netns/"+s.netns, "busybox", "nc", "-w", "2", "127.0.0.1", "18080")
		cmd.Stdin = strings.NewReader("GET / HTTP/1.0\r\n\r\n")
		out, err := cmd.CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err != nil || len(lines) == 0 {
			return fmt.Sprintf("error %v: %q", err, out)
		}
		return strings.TrimSpace(lines[len(lines)-1])
	}
	seen := map[string]int{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && len(replicasIn(seen)) < 3; {
		seen[get()]++
	}
	if n := len(replicasIn(seen)); n != 3 {
		t.Fatalf("%d replicas answered through the port, want 3: %v", n, seen)
	}
	// A Go client keeps connecting (a new connection per request) through the port while a
	// replica is killed: only requests already under way when it died may fail. Once the
	// supervisor shows the exit, the dead replica has left the balancer: no request that
	// starts after that fails.
	l := startLoad(t, s.netns, "127.0.0.1:18080", 4)
	time.Sleep(300 * time.Millisecond)
	victim := s.running("web", true)["web-2"]
	s.mustHull("kill", victim.ID, "KILL")
	var exitSeen time.Time
	s.eventually("web-2's exit noticed", 10*time.Second, func() bool {
		r, ok := s.running("web", false)["web-2"]
		exitSeen = time.Now()
		return !ok || r.ID != victim.ID
	})
	time.Sleep(time.Second)
	n, failed := l.count(exitSeen)
	all := l.results()
	if n < 20 {
		t.Fatalf("only %d requests in the second after the exit was seen: %s", n, summary(all))
	}
	if len(failed) > 0 {
		t.Errorf("%d of %d requests started after the exit was seen failed, first: %+v (all: %s)", len(failed), n, failed[0], summary(all))
	}
	for i := 0; i < 6; i++ {
		if got := get(); !strings.HasPrefix(got, "hello from ") {
			t.Errorf("request %d after a replica was killed: %q", i, got)
		}
	}
}

// replicasIn lists the replicas that said hello among the answers.
func replicasIn(answers map[string]int) []string {
	var out []string
	for a := range answers {
		if strings.HasPrefix(a, "hello from ") {
			out = append(out, a)
		}
	}
	return out
}
