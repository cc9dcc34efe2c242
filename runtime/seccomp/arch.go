package seccomp

import (
	"fmt"
	goruntime "runtime"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// x32Bit is __X32_SYSCALL_BIT: x32 tasks run under AUDIT_ARCH_X86_64 and tell their
// syscalls apart from x86_64 ones only by this bit in the number.
const x32Bit = 0x40000000

// arch is one syscall ABI a filter can admit.
type arch struct {
	name  specs.Arch
	audit uint32 // AUDIT_ARCH_*, what the kernel puts in seccomp_data.arch
	table int    // column of syscallTable; -1 when hull has no table for it
	// region is the range of syscall numbers this ABI owns under its audit arch.
	// Only x86_64 and x32 share an audit arch, split at x32Bit.
	lo, hi uint32
}

// bits64 reports whether the ABI passes 64-bit arguments. The kernel sets
// __AUDIT_ARCH_64BIT in the audit arch of every 64-bit ABI.
func (a arch) bits64() bool { return a.audit&0x80000000 != 0 }

const maxNr = ^uint32(0)

var arches = []arch{
	{specs.ArchX86_64, unix.AUDIT_ARCH_X86_64, tabX86_64, 0, x32Bit - 1},
	{specs.ArchX86, unix.AUDIT_ARCH_I386, tabX86, 0, maxNr},
	{specs.ArchX32, unix.AUDIT_ARCH_X86_64, tabX32, x32Bit, maxNr},
	{specs.ArchAARCH64, unix.AUDIT_ARCH_AARCH64, tabAARCH64, 0, maxNr},
	{specs.ArchARM, unix.AUDIT_ARCH_ARM, tabARM, 0, maxNr},
	{specs.ArchRISCV64, unix.AUDIT_ARCH_RISCV64, tabRISCV64, 0, maxNr},
	{specs.ArchPPC64, unix.AUDIT_ARCH_PPC64, tabPPC64, 0, maxNr},
	{specs.ArchPPC64LE, unix.AUDIT_ARCH_PPC64LE, tabPPC64, 0, maxNr},
	{specs.ArchPPC, unix.AUDIT_ARCH_PPC, tabPPC, 0, maxNr},
	{specs.ArchS390X, unix.AUDIT_ARCH_S390X, tabS390X, 0, maxNr},
	{specs.ArchLOONGARCH64, unix.AUDIT_ARCH_LOONGARCH64, tabLOONGARCH64, 0, maxNr},
	{specs.ArchMIPS, unix.AUDIT_ARCH_MIPS, tabMIPS, 0, maxNr},
	{specs.ArchMIPSEL, unix.AUDIT_ARCH_MIPSEL, tabMIPS, 0, maxNr},
	{specs.ArchMIPS64, unix.AUDIT_ARCH_MIPS64, tabMIPS64, 0, maxNr},
	{specs.ArchMIPSEL64, unix.AUDIT_ARCH_MIPSEL64, tabMIPS64, 0, maxNr},
	// Known to the spec, but hull has no syscall table for them: a filter never
	// admits them, so a task using one of these ABIs gets the bad-arch action.
	{specs.ArchMIPS64N32, unix.AUDIT_ARCH_MIPS64N32, -1, 0, maxNr},
	{specs.ArchMIPSEL64N32, unix.AUDIT_ARCH_MIPSEL64N32, -1, 0, maxNr},
	{specs.ArchS390, unix.AUDIT_ARCH_S390, -1, 0, maxNr},
	{specs.ArchPARISC, unix.AUDIT_ARCH_PARISC, -1, 0, maxNr},
	{specs.ArchPARISC64, unix.AUDIT_ARCH_PARISC64, -1, 0, maxNr},
	{specs.ArchM68K, unix.AUDIT_ARCH_M68K, -1, 0, maxNr},
	{specs.ArchSH, unix.AUDIT_ARCH_SHEL, -1, 0, maxNr},
	{specs.ArchSHEB, unix.AUDIT_ARCH_SH, -1, 0, maxNr},
}

func lookupArch(name specs.Arch) (arch, error) {
	for _, a := range arches {
		if a.name == name {
			return a, nil
		}
	}
	return arch{}, fmt.Errorf("unknown architecture %q", name)
}

// nativeArch is the ABI of the running binary, which the OCI spec admits by default.
func nativeArch() (specs.Arch, bool) {
	switch goruntime.GOARCH {
	case "amd64":
		return specs.ArchX86_64, false
	case "386":
		return specs.ArchX86, false
	case "arm64":
		return specs.ArchAARCH64, false
	case "arm":
		return specs.ArchARM, false
	case "riscv64":
		return specs.ArchRISCV64, false
	case "ppc64":
		return specs.ArchPPC64, true
	case "ppc64le":
		return specs.ArchPPC64LE, false
	case "s390x":
		return specs.ArchS390X, true
	case "loong64":
		return specs.ArchLOONGARCH64, false
	case "mips":
		return specs.ArchMIPS, true
	case "mipsle":
		return specs.ArchMIPSEL, false
	case "mips64":
		return specs.ArchMIPS64, true
	case "mips64le":
		return specs.ArchMIPSEL64, false
	}
	return "", false
}

// syscallNr returns the number of the named syscall in table t.
func syscallNr(name string, t int) (uint32, bool) {
	i := sort.Search(len(syscallTable), func(i int) bool { return syscallTable[i].name >= name })
	if i == len(syscallTable) || syscallTable[i].name != name || syscallTable[i].nr[t] < 0 {
		return 0, false
	}
	return uint32(syscallTable[i].nr[t]), true
}

// sysEntry is one row of the generated syscallTable.
type sysEntry struct {
	name string
	nr   [numTables]int32
}
