//go:build integration

package test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// compose's user: by name is looked up in the container's own /etc/passwd (the test rootfs has
// "user", 1000:1000), as Docker does; an unknown name keeps the replica from starting and says why.
func TestSupervisorComposeUserByName(t *testing.T) {
	s := newStack(t)
	f := s.compose("compose.yaml", `
services:
  app:
    image: ./rootfs
    command: ["/bin/sleep", "1000"]
    user: user
    stop_grace_period: 1s
  ghost:
    image: ./rootfs
    command: ["/bin/sleep", "1000"]
    user: nosuchuser
    restart: "no"
`)
	s.mustHull("up", "-d", "-f", f)
	s.eventually("app running", 20*time.Second, func() bool { return len(s.running("app", false)) == 1 })
	pid := s.running("app", false)["app-1"].Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Uid:\t1000\t1000\t1000\t1000", "Gid:\t1000\t1000\t1000\t1000"} {
		if !strings.Contains(string(status), want+"\n") {
			t.Errorf("app's /proc/%d/status lacks %q:\n%s", pid, want, status)
		}
	}
	var why string
	s.eventually("ghost refused with a reason", 20*time.Second, func() bool {
		out, _, _ := s.hull("service", "ps", s.project+"/ghost")
		why = out
		return strings.Contains(out, `"nosuchuser"`)
	})
	if !strings.Contains(why, "no such user") {
		t.Errorf("ghost's ps says:\n%s", why)
	}
	if n := len(s.running("ghost", false)); n != 0 {
		t.Errorf("%d ghost replicas running", n)
	}
}
