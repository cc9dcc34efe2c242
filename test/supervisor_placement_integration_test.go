//go:build integration

package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hullrt/hull/supervisor"
)

// Reservations are admitted against the node: with each replica reserving 40 % of the host's
// memory, two run and the third stays pending with the reason, instead of overcommitting;
// max_replicas_per_node caps another service.
func TestSupervisorPlacementRefusesWhatDoesNotFit(t *testing.T) {
	s := newStack(t)
	mem := supervisor.HostCapacity().Memory * 4 / 10 >> 20
	f := s.compose("compose.yaml", fmt.Sprintf(`
services:
  big:
    image: ./rootfs
    command: ["/bin/webd"]
    x-hull: {network: none}
    deploy:
      replicas: 3
      resources: {reservations: {memory: %dM}}
  capped:
    image: ./rootfs
    command: ["/bin/webd"]
    x-hull: {network: none}
    deploy:
      replicas: 3
      placement: {max_replicas_per_node: 2}
`, mem))
	s.mustHull("up", "-d", "-f", f)
	s.eventually("2 replicas of each", 30*time.Second, func() bool {
		return len(s.running("big", false)) == 2 && len(s.running("capped", false)) == 2
	})
	time.Sleep(500 * time.Millisecond) // a few more passes: the third must still not start
	for svc, want := range map[string]string{"big": "insufficient memory: ", "capped": "max_replicas_per_node 2 reached"} {
		var pending []supervisor.ReplicaStatus
		for _, r := range s.ps(svc) {
			if r.State == "pending" {
				pending = append(pending, r)
			}
		}
		if len(s.running(svc, false)) != 2 || len(pending) != 1 || !strings.HasPrefix(pending[0].Reason, want) {
			t.Errorf("%s: %+v, want 2 running and 1 pending with %q", svc, s.ps(svc), want)
		}
	}
	if out := s.mustHull("service", "ps", s.project+"/big"); !strings.Contains(out, "requested") {
		t.Errorf("ps does not say why:\n%s", out)
	}
}
