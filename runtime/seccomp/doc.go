// Package seccomp compiles the runtime spec's linux.seccomp section into a classic
// BPF program the kernel runs on every system call of the container.
//
// # What the kernel provides
//
// seccomp(2) with SECCOMP_SET_MODE_FILTER attaches a classic BPF program (the 32-bit
// socket-filter machine: one accumulator, absolute loads, forward-only jumps, at most
// 4096 instructions) to the calling thread, or to every thread with
// SECCOMP_FILTER_FLAG_TSYNC. Filters are inherited across fork and execve and can
// never be removed, only stacked. An unprivileged process may install one only after
// prctl(PR_SET_NO_NEW_PRIVS, 1), so it cannot fool a setuid binary it later execs.
//
// On each syscall the kernel runs the program over struct seccomp_data:
//
//	struct seccomp_data {
//		int   nr;                  // syscall number, as the ABI numbers it
//		__u32 arch;                // AUDIT_ARCH_* of the calling ABI
//		__u64 instruction_pointer;
//		__u64 args[6];             // raw register values
//	};
//
// and the program returns SECCOMP_RET_<action> | 16 bits of data. When several
// filters are stacked, the most severe verdict wins: KILL_PROCESS > KILL_THREAD >
// TRAP (SIGSYS) > ERRNO (data is the errno) > USER_NOTIF > TRACE (data goes to the
// ptracer) > LOG > ALLOW. See seccomp(2), and Documentation/userspace-api/seccomp_filter.rst.
//
// # How hull uses it
//
// Compile is pure: spec in, program out; Filter.Load makes the syscall, in the
// container's init after no_new_privs and just before execve. The program is:
//
//	ld arch; jeq AUDIT_ARCH_X86_64 → A; jeq AUDIT_ARCH_I386 → B; …; ret KILL_PROCESS
//	A: ld nr; binary search over runs of syscall numbers that behave alike; each
//	   leaf returns an action or tests arguments
//	B: …
//
// The same name has a different number on each ABI, so every admitted architecture
// gets its own search, built from tables generated out of the kernel uapi headers
// (gen.go). Syscall names an ABI lacks are skipped, as runc does: profiles name
// syscalls of every architecture and of newer kernels. Numbers above the highest
// syscall the profile names fail with ENOSYS instead of the default errno, so a libc
// newer than the profile falls back to an older call (runc does this too).
//
// x32 tasks run under AUDIT_ARCH_X86_64 and set bit 30 (__X32_SYSCALL_BIT) in the
// number. Matching only "nr == keyctl" would let them call keyctl|0x40000000 straight
// past an x86_64 rule, so the x86_64 search splits at that bit: x32 numbers get x32
// rules when SCMP_ARCH_X32 is admitted and KILL_PROCESS when it is not.
//
// BPF is 32-bit, so a 64-bit argument test becomes tests of its high and low halves
// (a > v is hi > vh || hi == vh && lo > vl). On 32-bit ABIs only the low half is
// compared, as libseccomp does: the kernel may hand over junk in the high half of a
// compat task's registers. Rules with arguments are tried in spec order and their
// arguments are ANDed; the first rule that matches decides; a rule without arguments
// is the fallback for its syscall; if none applies, defaultAction does. Rules whose
// action equals the default are dropped, as runc drops them. The runtime spec on
// errnoRet: "When the action doesn't support an errno, the runtime MUST print and
// error and fail", so errnoRet with anything but SCMP_ACT_ERRNO or SCMP_ACT_TRACE is
// an error.
//
// A syscall from an ABI the spec does not admit kills the process; the spec: "By
// default only the native architecture of the kernel is permitted".
//
// # Why not libseccomp
//
// libseccomp-golang is the usual choice (runc, crun), but it is cgo over a C library:
// hull wants one static, cgo-free binary that execs quickly. The pure-Go
// github.com/elastic/go-seccomp-bpf compiles one architecture per policy, returns a
// fixed errno, has no SCMP_CMP_MASKED_EQ and fails on unknown syscall names, so it
// cannot express an OCI profile. The builder here is small: a label assembler that
// inserts JA trampolines when a conditional jump (8-bit offset) would reach too far.
// Default() compiles to about 660 instructions, well under the kernel's 4096.
//
// # Try it by hand
//
//	go test -run 'TestDefaultProfile|TestKernel' -v ./runtime/seccomp/   # program length, real kernel
//	grep Seccomp /proc/self/status                                       # 2 once a filter is loaded
//
// # Not covered
//
// SCMP_ACT_NOTIFY (and SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, which only matters with
// it) returns an error: user notification needs the listener fd sent over
// listenerPath, which hull does not do yet. Architectures the spec knows but hull has
// no syscall table for (MIPS n32, S390, PA-RISC, M68K, SH) are never admitted, so
// their tasks are killed. The x32 table comes only from the host's headers and lacks
// syscalls newer than them; those return ENOSYS. ARM's private syscalls
// (cacheflush, set_tls) are not in the tables. Rules are not merged the way
// libseccomp's tree merges them, so two conditional rules with different actions for
// the same syscall depend on their order in the spec.
//
// Next stop: runtime/caps, which turns capability names into the bit masks capset(2) takes.
package seccomp
