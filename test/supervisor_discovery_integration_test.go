//go:build integration

package test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const discoveryProject = `
services:
  web:
    image: ./rootfs
    command: ["/bin/webd"]
    deploy: {replicas: 3}
    x-hull:
      probe: {type: http, port: 80, path: /healthz, interval: 200ms, timeout: 1s, retries: 2, start_period: 10s}
  client:
    image: ./rootfs
    command: ["/bin/webd"]
`

// Containers of a project reach other services by name, web and web.<project>, at a virtual
// IP spread over the ready replicas; a service added later resolves in replicas that were
// already running.
func TestSupervisorServiceDiscovery(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", discoveryProject)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("web and client running", 30*time.Second, func() bool {
		return len(s.running("web", true)) == 3 && len(s.running("client", false)) == 1
	})
	client := s.running("client", false)["client-1"].ID
	in := func(id string, argv ...string) (string, error) {
		out, err := exec.Command(hullBin, append([]string{"--root", filepath.Join(s.dir, "run"), "exec", id}, argv...)...).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	seen := map[string]int{}
	s.eventually("web answers by name from client", 10*time.Second, func() bool {
		out, err := in(client, "/bin/webd", "get", "http://web/")
		if err == nil {
			seen[out]++
		}
		return err == nil
	})
	for i := 0; i < 8; i++ {
		out, err := in(client, "/bin/webd", "get", "http://web."+s.project+"/")
		if err != nil {
			t.Fatalf("get web.%s: %v %s", s.project, err, out)
		}
		seen[out]++
	}
	if n := len(replicasIn(seen)); n != 3 {
		t.Errorf("%d replicas answered at the service's name, want 3: %v", n, seen)
	}
	// A service created later: the running client learns its name.
	s.compose("compose.yaml", discoveryProject+`  api:
    image: ./rootfs
    command: ["/bin/webd"]
`)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("api answers by name from the old client", 20*time.Second, func() bool {
		out, err := in(client, "/bin/webd", "get", "http://api/")
		return err == nil && out == "hello from api-1"
	})
	if hosts, _ := in(client, "cat", "/etc/hosts"); !strings.Contains(hosts, fmt.Sprintf("api api.%s", s.project)) {
		t.Errorf("/etc/hosts:\n%s", hosts)
	}
}
