package initproc

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/caps"
	"github.com/hullrt/hull/runtime/stub"
)

// PlannedStep is one step the stub will take at start, or, Skipped, one it will not take
// although the spec asks for it (a label for an LSM the host does not have).
type PlannedStep struct {
	Op, Args string
	Skipped  bool
}

// StubSteps lists what the stub does with prog once `start` (or exec) releases it, in the order
// of stub.c's transition(): the stub runs after the sync socket is closed and cannot report, so
// the init (or exec) reports this list (as "planned" steps) and --dry-run prints it. skipped
// (see HostLSM.Attrs) go where the labels would have been written.
func StubSteps(prog stub.Program, sc *specs.LinuxSeccomp, skipped []PlannedStep) []PlannedStep {
	var out []PlannedStep
	filter := ""
	if len(prog.Seccomp) > 0 {
		filter = seccompSummary(sc, len(prog.Seccomp))
	}
	if filter != "" && !prog.NoNewPrivileges {
		out = append(out, PlannedStep{Op: "seccomp", Args: filter}) // needs CAP_SYS_ADMIN: before the caps go
	}
	if !prog.KeepIdentity {
		if !prog.SkipSetgroups {
			out = append(out, PlannedStep{Op: "setgroups", Args: joinIDs(prog.AdditionalGids)})
		}
		out = append(out, PlannedStep{Op: "setresuid", Args: fmt.Sprintf("uid=%d gid=%d", prog.UID, prog.GID)})
	}
	c := prog.Caps
	out = append(out, PlannedStep{Op: "capset", Args: fmt.Sprintf("bounding=%s effective=%s permitted=%s inheritable=%s ambient=%s",
		capList(c.Bounding), capList(c.Effective), capList(c.Permitted), capList(c.Inheritable), capList(c.Ambient))})
	for _, a := range prog.Attrs {
		out = append(out, PlannedStep{Op: "write", Args: a.Value + " > /proc/" + a.File})
	}
	out = append(out, skipped...)
	if prog.NoNewPrivileges {
		out = append(out, PlannedStep{Op: "prctl", Args: "PR_SET_NO_NEW_PRIVS 1"})
		if filter != "" {
			out = append(out, PlannedStep{Op: "seccomp", Args: filter})
		}
	}
	return append(out, PlannedStep{Op: "execve", Args: strings.TrimSpace(prog.Path + " " + strings.Join(prog.Argv[min(1, len(prog.Argv)):], " "))})
}

// seccompSummary describes a filter: the spec's default action, how many syscalls its rules
// name, and the size of the compiled program.
func seccompSummary(sc *specs.LinuxSeccomp, instructions int) string {
	if sc == nil {
		return fmt.Sprintf("filter of %d BPF instructions", instructions)
	}
	names := 0
	for _, s := range sc.Syscalls {
		names += len(s.Names)
	}
	return fmt.Sprintf("filter of %d BPF instructions: default %s, %d syscall names in %d rules",
		instructions, sc.DefaultAction, names, len(sc.Syscalls))
}

// capList is "chown,kill,..." as setpriv(1) spells capabilities.
func capList(mask uint64) string {
	names := caps.Names(mask)
	for i, n := range names {
		names[i] = strings.ToLower(strings.TrimPrefix(n, "CAP_"))
	}
	return strings.Join(names, ",")
}

func joinIDs(ids []uint32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(uint64(id), 10)
	}
	return strings.Join(s, ",")
}
