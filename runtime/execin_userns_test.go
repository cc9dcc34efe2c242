package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/stub"
)

func TestHostOfZero(t *testing.T) {
	for _, c := range []struct {
		idMap string
		want  int
	}{
		{"         0     100000      65536\n", 100000},
		{"         0          0 4294967295\n", 0},
		{"      1000       1000          1\n         0     200000       1000\n", 200000},
		{"      1000       1000          1\n", -1}, // root unmapped
		{"", -1},
		{"0 5 0\n", -1}, // an empty range maps nothing
	} {
		if got := hostOfZero(c.idMap); got != c.want {
			t.Errorf("hostOfZero(%q) = %d, want %d", c.idMap, got, c.want)
		}
	}
}

// Inside a user namespace the exec'd stub holds every capability, so the spec alone bounds the
// process's sets, whatever hull holds on the host; and a "deny" namespace skips setgroups.
func TestUserNSAdapt(t *testing.T) {
	p := &specs.Process{Capabilities: &specs.LinuxCapabilities{
		Bounding: []string{"CAP_SYS_RESOURCE", "CAP_CHOWN"}, Permitted: []string{"CAP_SYS_RESOURCE"}, Effective: []string{"CAP_SYS_RESOURCE"},
	}}
	prog := stub.Program{CapLastCap: 40}
	if err := (&userNS{denySetgroups: true}).adapt(&prog, p); err != nil {
		t.Fatal(err)
	}
	res := uint64(1) << unix.CAP_SYS_RESOURCE
	if prog.Caps.Bounding != res|1<<unix.CAP_CHOWN || prog.Caps.Effective != res || prog.Caps.Permitted != res {
		t.Errorf("caps = %+v", prog.Caps)
	}
	if !prog.SkipSetgroups {
		t.Error("setgroups not skipped in a namespace that denies it")
	}
}
