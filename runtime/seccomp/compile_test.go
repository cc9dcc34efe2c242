package seccomp

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const (
	retAllow = unix.SECCOMP_RET_ALLOW
	retEPERM = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
)

func uptr(v uint) *uint { return &v }

// compileX86 compiles as if on an x86_64 host, so the tests mean the same everywhere.
func compileX86(t testing.TB, s *specs.LinuxSeccomp) Filter {
	t.Helper()
	f, err := compile(s, specs.ArchX86_64, false)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return f
}

func mustNr(t testing.TB, name string, table int) uint32 {
	t.Helper()
	nr, ok := syscallNr(name, table)
	if !ok {
		t.Fatalf("no syscall %s in table %d", name, table)
	}
	return nr
}

func verdict(t testing.TB, f Filter, d seccompData) uint32 {
	t.Helper()
	ret, err := run(f.Program, d)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return ret
}

func TestTables(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table int
		want  uint32
	}{
		{"read", tabX86_64, 0},
		{"mkdir", tabX86_64, 83},
		{"kexec_load", tabX86_64, 246},
		{"fchmodat2", tabX86_64, 452},
		{"read", tabX86, 3},
		{"socketcall", tabX86, 102},
		{"read", tabX32, x32Bit},
		{"rt_sigaction", tabX32, x32Bit + 512},
		{"read", tabAARCH64, 63},
		{"openat", tabAARCH64, 56},
		{"read", tabARM, 3},
		{"read", tabMIPS, 4003},
	} {
		if got, ok := syscallNr(tc.name, tc.table); !ok || got != tc.want {
			t.Errorf("syscallNr(%s, %d) = %d, %v; want %d", tc.name, tc.table, got, ok, tc.want)
		}
	}
	for _, name := range []string{"mkdir", "open"} {
		if _, ok := syscallNr(name, tabAARCH64); ok {
			t.Errorf("aarch64 has no %s, table says it does", name)
		}
	}
}

func TestActions(t *testing.T) {
	getpid := mustNr(t, "getpid", tabX86_64)
	for _, tc := range []struct {
		act      specs.LinuxSeccompAction
		errnoRet *uint
		want     uint32
	}{
		{specs.ActKill, nil, unix.SECCOMP_RET_KILL_THREAD},
		{specs.ActKillThread, nil, unix.SECCOMP_RET_KILL_THREAD},
		{specs.ActKillProcess, nil, unix.SECCOMP_RET_KILL_PROCESS},
		{specs.ActTrap, nil, unix.SECCOMP_RET_TRAP},
		{specs.ActErrno, nil, retEPERM},
		{specs.ActErrno, uptr(uint(unix.EACCES)), unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES)},
		{specs.ActTrace, nil, unix.SECCOMP_RET_TRACE | uint32(unix.EPERM)},
		{specs.ActTrace, uptr(7), unix.SECCOMP_RET_TRACE | 7},
		{specs.ActLog, nil, unix.SECCOMP_RET_LOG},
		{specs.ActAllow, nil, retAllow},
	} {
		t.Run(string(tc.act), func(t *testing.T) {
			// The rule's action differs from the default either way.
			def := specs.ActAllow
			if tc.act == specs.ActAllow {
				def = specs.ActKillProcess
			}
			f := compileX86(t, &specs.LinuxSeccomp{
				DefaultAction: def,
				Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: tc.act, ErrnoRet: tc.errnoRet}},
			})
			if got := verdict(t, f, seccompData{nr: getpid, arch: unix.AUDIT_ARCH_X86_64}); got != tc.want {
				t.Errorf("getpid: got %#x, want %#x", got, tc.want)
			}
			// Other syscalls below getpid get the defaultAction.
			d, _ := retValue(def, nil)
			if got := verdict(t, f, seccompData{nr: getpid - 1, arch: unix.AUDIT_ARCH_X86_64}); got != d {
				t.Errorf("getpid-1: got %#x, want default %#x", got, d)
			}
		})
	}
}

func TestDefaultErrnoRet(t *testing.T) {
	f := compileX86(t, &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: uptr(uint(unix.EACCES)),
		Syscalls:        []specs.LinuxSyscall{{Names: []string{"read", "write", "openat2"}, Action: specs.ActAllow}},
	})
	for nr, want := range map[uint32]uint32{
		0:  retAllow,
		1:  retAllow,
		2:  unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES),
		83: unix.SECCOMP_RET_ERRNO | uint32(unix.EACCES),
	} {
		if got := verdict(t, f, seccompData{nr: nr, arch: unix.AUDIT_ARCH_X86_64}); got != want {
			t.Errorf("nr %d: got %#x, want %#x", nr, got, want)
		}
	}
}

// holds is the reference meaning of an OCI argument condition on a 64-bit value.
func holds(op specs.LinuxSeccompOperator, arg, v, v2 uint64) bool {
	switch op {
	case specs.OpEqualTo:
		return arg == v
	case specs.OpNotEqual:
		return arg != v
	case specs.OpLessThan:
		return arg < v
	case specs.OpLessEqual:
		return arg <= v
	case specs.OpGreaterThan:
		return arg > v
	case specs.OpGreaterEqual:
		return arg >= v
	case specs.OpMaskedEqual:
		return arg&v == v2
	}
	panic(op)
}

var ops = []specs.LinuxSeccompOperator{specs.OpEqualTo, specs.OpNotEqual, specs.OpLessThan,
	specs.OpLessEqual, specs.OpGreaterThan, specs.OpGreaterEqual, specs.OpMaskedEqual}

func argFilter(t testing.TB, arg specs.LinuxSeccompArg) Filter {
	return compileX86(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg}}},
	})
}

func TestArgOps(t *testing.T) {
	const hi = 1 << 32
	for _, tc := range []struct {
		op    specs.LinuxSeccompOperator
		value uint64
		two   uint64
		arg   uint64
		match bool
	}{
		{specs.OpEqualTo, 5, 0, 5, true},
		{specs.OpEqualTo, 5, 0, hi + 5, false}, // same low half, different high half
		{specs.OpEqualTo, hi + 5, 0, hi + 5, true},
		{specs.OpNotEqual, 5, 0, hi + 5, true},
		{specs.OpNotEqual, hi + 5, 0, hi + 5, false},
		{specs.OpLessThan, hi, 0, hi - 1, true},
		{specs.OpLessThan, hi, 0, hi, false},
		{specs.OpLessThan, hi + 1, 0, 2, true}, // low half bigger, high half smaller
		{specs.OpLessEqual, hi + 7, 0, hi + 7, true},
		{specs.OpLessEqual, hi + 7, 0, hi + 8, false},
		{specs.OpLessEqual, hi + 7, 0, 2 * hi, false},
		{specs.OpGreaterThan, hi - 1, 0, hi, true},
		{specs.OpGreaterThan, hi + 1, 0, hi + 1, false},
		{specs.OpGreaterThan, 2, 0, hi + 1, true}, // low half smaller, high half bigger
		{specs.OpGreaterEqual, hi + 3, 0, hi + 3, true},
		{specs.OpGreaterEqual, hi + 3, 0, hi + 2, false},
		{specs.OpGreaterEqual, 0xffffffffffffffff, 0, 0xffffffffffffffff, true},
		{specs.OpMaskedEqual, 0xff00_000000ff, 0xab00_00000034, 0xab12_cdef5634, true},
		{specs.OpMaskedEqual, 0xff00_000000ff, 0xab00_00000034, 0xac12_cdef5634, false}, // high half differs
		{specs.OpMaskedEqual, 0xff00_000000ff, 0xab00_00000034, 0xab12_cdef5635, false}, // low half differs
		{specs.OpMaskedEqual, cloneNamespaceFlags, 0, unix.CLONE_VM | unix.CLONE_THREAD, true},
		{specs.OpMaskedEqual, cloneNamespaceFlags, 0, unix.CLONE_NEWUSER, false},
	} {
		f := argFilter(t, specs.LinuxSeccompArg{Index: 2, Op: tc.op, Value: tc.value, ValueTwo: tc.two})
		d := seccompData{nr: mustNr(t, "personality", tabX86_64), arch: unix.AUDIT_ARCH_X86_64}
		d.args[2] = tc.arg
		want := uint32(retAllow)
		if tc.match {
			want = retEPERM
		}
		if got := verdict(t, f, d); got != want {
			t.Errorf("%s %#x/%#x on %#x: got %#x, want %#x", tc.op, tc.value, tc.two, tc.arg, got, want)
		}
	}
}

// TestArgOpsRandom checks every operator against holds on values built to share
// high or low halves, on a 64-bit ABI and on a 32-bit one (where only the low half
// of the argument counts).
func TestArgOpsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	halves := []uint32{0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}
	pick := func() uint64 {
		h := func() uint32 {
			if r.IntN(2) == 0 {
				return halves[r.IntN(len(halves))]
			}
			return r.Uint32()
		}
		return uint64(h())<<32 | uint64(h())
	}
	for range 300 {
		op := ops[r.IntN(len(ops))]
		v, v2 := pick(), pick()
		if op == specs.OpMaskedEqual && r.IntN(2) == 0 {
			v2 = pick() & v // a datum that can match
		}
		f := argFilter(t, specs.LinuxSeccompArg{Index: 4, Op: op, Value: v, ValueTwo: v2})
		for range 10 {
			arg := pick()
			if r.IntN(4) == 0 {
				arg = v
			}
			for _, abi := range []struct {
				audit uint32
				nr    uint32
				seen  uint64 // the argument as the filter should see it
			}{
				{unix.AUDIT_ARCH_X86_64, mustNr(t, "personality", tabX86_64), arg},
				{unix.AUDIT_ARCH_I386, mustNr(t, "personality", tabX86), arg & 0xffffffff},
			} {
				d := seccompData{nr: abi.nr, arch: abi.audit}
				d.args[4] = arg
				want := uint32(retAllow)
				if holds(op, abi.seen, v, v2) {
					want = retEPERM
				}
				if got := verdict(t, f, d); got != want {
					t.Fatalf("arch %#x: %s %#x/%#x on %#x: got %#x, want %#x", abi.audit, op, v, v2, arg, got, want)
				}
			}
		}
	}
}

func TestRuleCombination(t *testing.T) {
	nr := mustNr(t, "personality", tabX86_64)
	f := compileX86(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			// args within a rule are ANDed
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpGreaterEqual, Value: 10},
				{Index: 0, Op: specs.OpLessThan, Value: 20},
				{Index: 1, Op: specs.OpEqualTo, Value: 1},
			}},
			// rules for the same syscall are ORed
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 100},
			}},
			// a rule with conditions beats an unconditional one listed later
			{Names: []string{"personality"}, Action: specs.ActTrap},
			{Names: []string{"personality"}, Action: specs.ActLog, Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpEqualTo, Value: 200},
			}},
			// only the first unconditional rule counts
			{Names: []string{"personality"}, Action: specs.ActKillProcess},
		},
	})
	for _, tc := range []struct {
		a0, a1 uint64
		want   uint32
	}{
		{15, 1, retAllow},
		{15, 0, unix.SECCOMP_RET_TRAP},
		{9, 1, unix.SECCOMP_RET_TRAP},
		{20, 1, unix.SECCOMP_RET_TRAP},
		{100, 0, retAllow},
		{200, 0, unix.SECCOMP_RET_LOG},
		{300, 0, unix.SECCOMP_RET_TRAP},
	} {
		d := seccompData{nr: nr, arch: unix.AUDIT_ARCH_X86_64, args: [6]uint64{tc.a0, tc.a1}}
		if got := verdict(t, f, d); got != tc.want {
			t.Errorf("personality(%d, %d): got %#x, want %#x", tc.a0, tc.a1, got, tc.want)
		}
	}
}

func TestArchitectures(t *testing.T) {
	keyctl := func(table int) uint32 { return mustNr(t, "keyctl", table) }
	deny := func(arches ...specs.Arch) Filter {
		return compileX86(t, &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Architectures: arches,
			Syscalls: []specs.LinuxSyscall{{
				Names: []string{"keyctl", "no_such_syscall", "arm_fadvise64_64"}, Action: specs.ActErrno,
			}},
		})
	}
	x86Only := deny()
	all := deny(specs.ArchX86, specs.ArchX32, specs.ArchAARCH64, specs.ArchS390)
	for _, tc := range []struct {
		name string
		f    Filter
		d    seccompData
		want uint32
	}{
		{"native x86_64", x86Only, seccompData{nr: keyctl(tabX86_64), arch: unix.AUDIT_ARCH_X86_64}, retEPERM},
		{"i386 not admitted", x86Only, seccompData{nr: keyctl(tabX86), arch: unix.AUDIT_ARCH_I386}, retKill},
		{"aarch64 not admitted", x86Only, seccompData{nr: keyctl(tabAARCH64), arch: unix.AUDIT_ARCH_AARCH64}, retKill},
		// x32 numbers under AUDIT_ARCH_X86_64 must not slip past the x86_64 rules.
		{"x32 bypass", x86Only, seccompData{nr: keyctl(tabX32), arch: unix.AUDIT_ARCH_X86_64}, retKill},
		{"x32 other", x86Only, seccompData{nr: x32Bit, arch: unix.AUDIT_ARCH_X86_64}, retKill},
		{"nr -1", x86Only, seccompData{nr: maxNr, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"x86_64 other", x86Only, seccompData{nr: 0, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"i386", all, seccompData{nr: keyctl(tabX86), arch: unix.AUDIT_ARCH_I386}, retEPERM},
		{"i386 x86_64 number", all, seccompData{nr: keyctl(tabX86_64), arch: unix.AUDIT_ARCH_I386}, retAllow},
		{"x32", all, seccompData{nr: keyctl(tabX32), arch: unix.AUDIT_ARCH_X86_64}, retEPERM},
		{"x32 other", all, seccompData{nr: x32Bit, arch: unix.AUDIT_ARCH_X86_64}, retAllow},
		{"x86_64", all, seccompData{nr: keyctl(tabX86_64), arch: unix.AUDIT_ARCH_X86_64}, retEPERM},
		{"aarch64", all, seccompData{nr: keyctl(tabAARCH64), arch: unix.AUDIT_ARCH_AARCH64}, retEPERM},
		{"s390 has no table", all, seccompData{nr: 0, arch: unix.AUDIT_ARCH_S390}, retKill},
		{"arm not admitted", all, seccompData{nr: 0, arch: unix.AUDIT_ARCH_ARM}, retKill},
	} {
		if got := verdict(t, tc.f, tc.d); got != tc.want {
			t.Errorf("%s: got %#x, want %#x", tc.name, got, tc.want)
		}
	}
}

func TestENOSYSForNewSyscalls(t *testing.T) {
	f := compileX86(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Architectures: []specs.Arch{specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read", "openat2"}, Action: specs.ActAllow}},
	})
	openat2 := mustNr(t, "openat2", tabX86_64) // 437
	for _, tc := range []struct {
		nr   uint32
		want uint32
	}{
		{openat2, retAllow},
		{openat2 - 1, retEPERM},
		{openat2 + 1, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{x32Bit, retAllow},
		{x32Bit + 1, retEPERM},
		{mustNr(t, "openat2", tabX32) + 1, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{maxNr, retEPERM},
	} {
		if got := verdict(t, f, seccompData{nr: tc.nr, arch: unix.AUDIT_ARCH_X86_64}); got != tc.want {
			t.Errorf("nr %#x: got %#x, want %#x", tc.nr, got, tc.want)
		}
	}
}

// longJumpProfile allows a third of the x86_64 syscalls, traps another third when
// arg0 < 2^40 and denies the rest: a binary search spanning far more than 255
// instructions, so conditional jumps need trampolines. want maps each named syscall
// number to its verdict for arg0 = 0.
func longJumpProfile() (s *specs.LinuxSeccomp, want map[uint32]uint32) {
	var allowed, guarded []string
	want = map[uint32]uint32{}
	for i, e := range syscallTable {
		nr := e.nr[tabX86_64]
		if nr < 0 {
			continue
		}
		switch i % 3 {
		case 0:
			allowed = append(allowed, e.name)
			want[uint32(nr)] = retAllow
		case 1:
			guarded = append(guarded, e.name)
			want[uint32(nr)] = unix.SECCOMP_RET_TRAP
		}
	}
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{
			{Names: allowed, Action: specs.ActAllow},
			{Names: guarded, Action: specs.ActTrap, Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpLessThan, Value: 1 << 40}}},
		},
	}, want
}

func TestLongJumps(t *testing.T) {
	s, want := longJumpProfile()
	f := compileX86(t, s)
	far := 0
	for _, ins := range f.Program {
		if ins.Code == opJA {
			far++
		}
	}
	t.Logf("%d instructions, %d JA", len(f.Program), far)
	if far == 0 {
		t.Fatalf("expected trampolines in a %d-instruction program", len(f.Program))
	}
	maxKnown := uint32(0)
	for nr := range want {
		maxKnown = max(maxKnown, nr)
	}
	for nr := uint32(0); nr < 600; nr++ {
		w, ok := want[nr]
		switch {
		case ok:
		case nr > maxKnown:
			w = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		default:
			w = retEPERM
		}
		if got := verdict(t, f, seccompData{nr: nr, arch: unix.AUDIT_ARCH_X86_64}); got != w {
			t.Errorf("nr %d: got %#x, want %#x", nr, got, w)
		}
	}
}

func TestFlags(t *testing.T) {
	f := compileX86(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Flags:         []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow},
	})
	want := uint(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW)
	if f.Flags != want {
		t.Errorf("flags %#x, want %#x", f.Flags, want)
	}
}

func TestCompileErrors(t *testing.T) {
	ok := specs.LinuxSyscall{Names: []string{"read"}, Action: specs.ActAllow}
	for _, tc := range []struct {
		name string
		s    *specs.LinuxSeccomp
		want string
	}{
		{"nil", nil, "no seccomp section"},
		{"default action", &specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_NOPE"}, `defaultAction: unknown action "SCMP_ACT_NOPE"`},
		{"empty default action", &specs.LinuxSeccomp{}, `unknown action ""`},
		{"action", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{ok, {Names: []string{"read"}, Action: "SCMP_ACT_NOPE"}}}, `syscalls[1]: unknown action "SCMP_ACT_NOPE"`},
		{"notify", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActNotify}}}, "SCMP_ACT_NOTIFY is not supported yet"},
		{"errnoRet", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, DefaultErrnoRet: uptr(1 << 16)}, "errnoRet 65536 does not fit in 16 bits"},
		{"errnoRet for allow", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: uptr(1)}, "errnoRet given for SCMP_ACT_ALLOW, which returns no errno"},
		{"errnoRet for kill", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActKill, ErrnoRet: uptr(1)}}}, "syscalls[0]: errnoRet given for SCMP_ACT_KILL"},
		{"no names", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}, "syscalls[0]: no names"},
		{"metadata", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, ListenerMetadata: "x"}, "listenerMetadata set without listenerPath"},
		{"arch", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{"SCMP_ARCH_Z80"}}, `unknown architecture "SCMP_ARCH_Z80"`},
		{"flag", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NOPE"}}, `unknown flag "SECCOMP_FILTER_FLAG_NOPE"`},
		{"flag needs notify", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}}, "not supported yet"},
		{"op", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Op: "SCMP_CMP_NOPE"}}}}}, `syscalls[0]: unknown operator "SCMP_CMP_NOPE"`},
		{"arg index", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}}, "argument index 6 out of range"},
	} {
		_, err := compile(tc.s, specs.ArchX86_64, false)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	_, err := compile(&specs.LinuxSeccomp{DefaultAction: specs.ActNotify}, specs.ArchX86_64, false)
	if !errors.Is(err, errNotify) {
		t.Errorf("notify default: %v is not errNotify", err)
	}
}

func TestUnknownNamesSkipped(t *testing.T) {
	f := compileX86(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"no_such_syscall", "arm_fadvise64_64"}, Action: specs.ActErrno}},
	})
	if got := verdict(t, f, seccompData{nr: 0, arch: unix.AUDIT_ARCH_X86_64}); got != retAllow {
		t.Errorf("got %#x, want allow", got)
	}
}

func TestCompileHost(t *testing.T) {
	if _, err := Compile(Default()); err != nil {
		t.Fatalf("Compile(Default()) on this host: %v", err)
	}
}
