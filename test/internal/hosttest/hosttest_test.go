package hosttest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// Our own process is in our own cgroup: PidsInCgroup of that path must list us.
func TestPidsInCgroupFindsSelf(t *testing.T) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Skip("no /proc/self/cgroup: not Linux")
	}
	line := strings.SplitN(strings.Split(strings.TrimSpace(string(b)), "\n")[0], ":", 3)
	self := strconv.Itoa(os.Getpid())
	for _, p := range PidsInCgroup(line[2]) {
		if p == self {
			return
		}
	}
	t.Fatalf("pid %s not found in cgroup %s", self, line[2])
}
