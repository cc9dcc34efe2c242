package seccomp

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestDefaultProfile(t *testing.T) {
	s := Default()
	f := compileX86(t, s)
	t.Logf("default profile: %d instructions (kernel limit %d)", len(f.Program), unix.BPF_MAXINSNS)
	if f.Flags != 0 {
		t.Errorf("flags %#x, want none", f.Flags)
	}

	enosys := unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	abis := []struct {
		name  string
		audit uint32
		table int
	}{
		{"x86_64", unix.AUDIT_ARCH_X86_64, tabX86_64},
		{"i386", unix.AUDIT_ARCH_I386, tabX86},
		{"x32", unix.AUDIT_ARCH_X86_64, tabX32},
	}
	for _, abi := range abis {
		check := func(name string, args [6]uint64, want uint32) {
			t.Helper()
			nr, ok := syscallNr(name, abi.table)
			if !ok {
				return // e.g. no clone3 in the host's x32 header
			}
			if got := verdict(t, f, seccompData{nr: nr, arch: abi.audit, args: args}); got != want {
				t.Errorf("%s %s%v: got %#x, want %#x", abi.name, name, args, got, want)
			}
		}
		for _, name := range []string{"read", "write", "execve", "exit_group", "openat", "mmap",
			"futex", "rt_sigreturn", "getpid", "mkdir", "chroot", "fchmodat2"} {
			check(name, [6]uint64{}, retAllow)
		}
		for _, name := range []string{"kexec_load", "keyctl", "add_key", "request_key", "mount",
			"umount2", "unshare", "setns", "pivot_root", "reboot", "init_module", "bpf",
			"perf_event_open", "userfaultfd", "ptrace", "open_by_handle_at", "io_uring_setup"} {
			check(name, [6]uint64{}, retEPERM)
		}
		threadFlags := uint64(unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
			unix.CLONE_THREAD | unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID)
		check("clone", [6]uint64{threadFlags}, retAllow)
		check("clone", [6]uint64{uint64(unix.SIGCHLD)}, retAllow)
		check("clone", [6]uint64{unix.CLONE_NEWUSER | uint64(unix.SIGCHLD)}, retEPERM)
		check("clone", [6]uint64{unix.CLONE_NEWNS}, retEPERM)
		check("clone3", [6]uint64{}, enosys)
		check("socket", [6]uint64{unix.AF_INET}, retAllow)
		check("socket", [6]uint64{unix.AF_VSOCK}, retEPERM)
		for _, p := range allowedPersonalities {
			check("personality", [6]uint64{p}, retAllow)
		}
		check("personality", [6]uint64{0x0400000}, retEPERM) // READ_IMPLIES_EXEC
	}

	// A syscall number newer than the profile knows gets ENOSYS, so libc can fall back.
	if got := verdict(t, f, seccompData{nr: 1000, arch: unix.AUDIT_ARCH_X86_64}); got != enosys {
		t.Errorf("nr 1000: got %#x, want ENOSYS", got)
	}
	if got := verdict(t, f, seccompData{nr: 0, arch: unix.AUDIT_ARCH_AARCH64}); got != retKill {
		t.Errorf("aarch64: got %#x, want kill", got)
	}
}

func TestDefaultIsFresh(t *testing.T) {
	a, b := Default(), Default()
	a.Syscalls[0].Names[0] = "changed"
	*a.DefaultErrnoRet = 99
	if b.Syscalls[0].Names[0] == "changed" || *b.DefaultErrnoRet == 99 {
		t.Fatal("Default shares state between calls")
	}
	if a.DefaultAction != specs.ActErrno {
		t.Fatal("default action is not ERRNO")
	}
}
