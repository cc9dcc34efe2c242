//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hullrt/hull/supervisor"
)

// rolloutService is webService behind a published port, with an update_config that keeps the
// test short; %s is extra service lines (a changed environment makes a new revision).
const rolloutService = `
services:
  web:
    image: ./rootfs
    command: %s
    restart: always
    stop_grace_period: 2s
    ports: ["18081:80"]
    deploy:
      replicas: 3
      update_config: {parallelism: 1, monitor: 1s}
    environment: {V: "%s"}
    x-hull:
      backoff: {initial: 300ms}
      probe: {type: http, port: 80, path: /healthz, interval: 200ms, timeout: 1s, retries: 2, start_period: 10s}
`

func (s *stack) inspect(svc string) supervisor.Inspection {
	s.t.Helper()
	var in supervisor.Inspection
	if err := json.Unmarshal([]byte(s.mustHull("service", "inspect", s.project+"/"+svc)), &in); err != nil {
		s.t.Fatal(err)
	}
	return in
}

// A changed service rolls out under steady load (a new connection per request) with no
// failed request: each new replica is healthy before an old one leaves traffic, and every old
// one is drained. A revision whose replicas crash is rolled back on its own, still without a
// failed request, and `hull service history` / `rollback` see it all.
func TestSupervisorRollingUpdateUnderLoad(t *testing.T) {
	s := newStack(t)
	good := `["/bin/webd"]`
	f := s.compose("compose.yaml", fmt.Sprintf(rolloutService, good, "1"))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("3 healthy replicas", 30*time.Second, func() bool { return len(s.running("web", true)) == 3 })
	v1 := s.inspect("web").Revision
	l := startLoad(t, s.netns, "127.0.0.1:18081", 4)
	time.Sleep(500 * time.Millisecond)

	s.compose("compose.yaml", fmt.Sprintf(rolloutService, good, "2"))
	s.mustHull("up", "-d", "-f", f)
	v2 := s.inspect("web").Revision
	if v2 == v1 {
		t.Fatal("a changed environment kept the revision")
	}
	s.eventually("v2 rolled out", 60*time.Second, func() bool {
		in := s.inspect("web")
		return in.Update != nil && in.Update.State == supervisor.RolloutCompleted
	})
	for _, r := range s.running("web", true) {
		if r.Revision != v2 {
			t.Errorf("%s runs revision %s after the update to %s", r.Name, r.Revision, v2)
		}
	}
	n, failed := l.count(time.Time{})
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed during the rolling update, first: %s %+v", len(failed), n, failed[0].start.Format("15:04:05.000"), failed[0])
	}
	t.Logf("rolling update: %d requests, none failed", n)

	// A revision that crashes at once: rolled back automatically, the v2 replicas untouched.
	before := s.running("web", true)
	s.compose("compose.yaml", fmt.Sprintf(rolloutService, `["/bin/sh", "-c", "exit 3"]`, "3"))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("rolled back to v2", 60*time.Second, func() bool {
		in := s.inspect("web")
		return in.Revision == v2 && in.Update != nil && in.Update.State == supervisor.RolloutRolledBack
	})
	after := s.running("web", true)
	for name, r := range before {
		if after[name].ID != r.ID {
			t.Errorf("%s was replaced (%s → %s) by a revision that was rolled back", name, r.ID, after[name].ID)
		}
	}
	all := l.results()
	n, failed = len(all), nil
	for _, r := range all {
		if r.err != "" {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed, first: %+v (%s)", len(failed), n, failed[0], summary(all))
	}
	hist := s.mustHull("service", "history", s.project+"/web")
	if strings.Count(hist, "\n") != 5 || !strings.Contains(hist, "automatic rollback") {
		t.Errorf("history:\n%s", hist)
	}
	// By hand: back to the revision before v2's return, the crashing one; then back again.
	s.mustHull("service", "rollback", s.project+"/web")
	if in := s.inspect("web"); in.Revision == v2 {
		t.Errorf("rollback kept revision %s", v2)
	}
}

// Scaling up adds replicas to the balancer once healthy; scaling down under steady load
// drains the removed ones: no failed request.
func TestSupervisorScaleUnderLoad(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", strings.Replace(fmt.Sprintf(rolloutService, `["/bin/webd"]`, "1"), "replicas: 3", "replicas: 2", 1))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("2 healthy replicas", 30*time.Second, func() bool { return len(s.running("web", true)) == 2 })
	s.mustHull("service", "scale", s.project+"/web=4")
	s.eventually("4 healthy replicas", 30*time.Second, func() bool { return len(s.running("web", true)) == 4 })
	l := startLoad(t, s.netns, "127.0.0.1:18081", 4)
	s.eventually("all 4 answer", 10*time.Second, func() bool {
		seen := map[string]bool{}
		for _, r := range func() []loadResult { l.mu.Lock(); defer l.mu.Unlock(); return append([]loadResult(nil), l.res...) }() {
			seen[r.body] = true
		}
		return seen["hello from web-3"] && seen["hello from web-4"]
	})
	s.mustHull("service", "scale", s.project+"/web=1")
	s.eventually("1 replica left", 30*time.Second, func() bool { return len(s.ps("web")) == 1 })
	time.Sleep(300 * time.Millisecond)
	all := l.results()
	var failed []loadResult
	for _, r := range all {
		if r.err != "" {
			failed = append(failed, r)
		}
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed while scaling down, first: %+v (%s)", len(failed), len(all), failed[0], summary(all))
	}
	t.Logf("scale 4 → 1: %d requests, none failed", len(all))
	if got := s.running("web", true); len(got) != 1 || got["web-1"].ID == "" {
		t.Fatalf("left %v, want web-1", got)
	}
}
