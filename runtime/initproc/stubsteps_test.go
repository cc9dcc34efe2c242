package initproc

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/stub"
)

func TestStubSteps(t *testing.T) {
	sc := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write"}, Action: specs.ActAllow}}}
	prog := stub.Program{Path: "/bin/sh", Argv: []string{"sh", "-c", "id"}, UID: 1000, GID: 100, AdditionalGids: []uint32{10},
		Caps: stub.Caps{Bounding: 1 | 1<<5}, NoNewPrivileges: true, Seccomp: make([]unix.SockFilter, 7),
		Attrs: []stub.Attr{{File: "thread-self/attr/apparmor/exec", Value: "exec web"}}}
	skipped := []PlannedStep{{Op: "write", Args: "s0 > /proc/thread-self/attr/exec (SELinux is not enabled on this host)", Skipped: true}}
	var ops []string
	var got []PlannedStep
	for _, s := range StubSteps(prog, sc, skipped) {
		ops = append(ops, s.Op)
		got = append(got, s)
	}
	// stub.c's order: ids, caps, the LSM labels, then no_new_privs and the filter last.
	if want := []string{"setgroups", "setresuid", "capset", "write", "write", "prctl", "seccomp", "execve"}; !slices.Equal(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
	if got[3].Skipped || !got[4].Skipped {
		t.Errorf("skipped: the label write %v, the skipped one %v", got[3].Skipped, got[4].Skipped)
	}
	for _, c := range []struct {
		i   int
		has string
	}{
		{0, "10"}, {1, "uid=1000 gid=100"}, {2, "bounding=chown,kill "}, {3, "exec web > /proc/thread-self/attr/apparmor/exec"},
		{4, "not enabled"}, {6, "7 BPF instructions: default SCMP_ACT_ERRNO, 2 syscall names in 1 rules"}, {7, "/bin/sh -c id"},
	} {
		if !strings.Contains(got[c.i].Args, c.has) {
			t.Errorf("%s args %q lack %q", got[c.i].Op, got[c.i].Args, c.has)
		}
	}
	// Without no_new_privs the filter goes first (it needs CAP_SYS_ADMIN); with KeepIdentity no ids change.
	prog.NoNewPrivileges, prog.KeepIdentity, prog.Attrs = false, true, nil
	ops = ops[:0]
	for _, s := range StubSteps(prog, sc, nil) {
		ops = append(ops, s.Op)
	}
	if want := []string{"seccomp", "capset", "execve"}; !slices.Equal(ops, want) {
		t.Fatalf("ops %v, want %v", ops, want)
	}
}
