package initproc

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/caps"
	"github.com/hullrt/hull/runtime/stub"
)

// PlannedStep is one step the stub will take at start.
type PlannedStep struct{ Op, Args string }

// StubSteps lists what the stub does with prog once `start` releases it, in the order of
// stub.c's transition(): the stub runs after the sync socket is closed and cannot report, so the
// init reports this list (as "planned" steps) and --dry-run prints it.
func StubSteps(prog stub.Program, sc *specs.LinuxSeccomp) []PlannedStep {
	var out []PlannedStep
	filter := ""
	if len(prog.Seccomp) > 0 {
		filter = seccompSummary(sc, len(prog.Seccomp))
	}
	if filter != "" && !prog.NoNewPrivileges {
		out = append(out, PlannedStep{"seccomp", filter}) // needs CAP_SYS_ADMIN: before the caps go
	}
	if !prog.KeepIdentity {
		if !prog.SkipSetgroups {
			out = append(out, PlannedStep{"setgroups", joinIDs(prog.AdditionalGids)})
		}
		out = append(out, PlannedStep{"setresuid", fmt.Sprintf("uid=%d gid=%d", prog.UID, prog.GID)})
	}
	c := prog.Caps
	out = append(out, PlannedStep{"capset", fmt.Sprintf("bounding=%s effective=%s permitted=%s inheritable=%s ambient=%s",
		capList(c.Bounding), capList(c.Effective), capList(c.Permitted), capList(c.Inheritable), capList(c.Ambient))})
	if prog.NoNewPrivileges {
		out = append(out, PlannedStep{"prctl", "PR_SET_NO_NEW_PRIVS 1"})
		if filter != "" {
			out = append(out, PlannedStep{"seccomp", filter})
		}
	}
	return append(out, PlannedStep{"execve", strings.TrimSpace(prog.Path + " " + strings.Join(prog.Argv[min(1, len(prog.Argv)):], " "))})
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
