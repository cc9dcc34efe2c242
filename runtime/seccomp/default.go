package seccomp

import (
	goruntime "runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Syscalls the default profile allows without conditions, grouped by what they are
// for. Names missing on an architecture or kernel are skipped by Compile, so 32-bit
// variants (…32, …64, …_time64) sit next to their 64-bit forms.
var (
	allowFiles = []string{
		"access", "chdir", "chmod", "chown", "chown32", "close", "close_range", "copy_file_range",
		"creat", "dup", "dup2", "dup3", "faccessat", "faccessat2", "fadvise64", "fadvise64_64",
		"fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat",
		"fcntl", "fcntl64", "fdatasync", "flock", "fstat", "fstat64", "fstatat64", "fstatfs",
		"fstatfs64", "fsync", "ftruncate", "ftruncate64", "futimesat", "getcwd", "getdents",
		"getdents64", "lchown", "lchown32", "link", "linkat", "_llseek", "lseek", "lstat", "lstat64",
		"mkdir", "mkdirat", "mknod", "mknodat", "name_to_handle_at", "newfstatat", "open", "openat",
		"openat2", "pread64", "preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read",
		"readahead", "readlink", "readlinkat", "readv", "rename", "renameat", "renameat2", "rmdir",
		"sendfile", "sendfile64", "splice", "stat", "stat64", "statfs", "statfs64", "statx",
		"symlink", "symlinkat", "sync", "sync_file_range", "sync_file_range2", "syncfs", "tee",
		"truncate", "truncate64", "umask", "unlink", "unlinkat", "utime", "utimensat",
		"utimensat_time64", "utimes", "vmsplice", "write", "writev", "cachestat",
		"arm_fadvise64_64", "arm_sync_file_range",
	}
	allowXattrs = []string{
		"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "getxattr", "lgetxattr",
		"listxattr", "llistxattr", "lremovexattr", "lsetxattr", "removexattr", "setxattr",
	}
	allowEvents = []string{
		"epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
		"epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "fanotify_mark",
		"inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "_newselect",
		"pause", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64", "select",
		"signalfd", "signalfd4", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
		"timerfd_settime", "timerfd_settime64",
	}
	allowAIO = []string{
		"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
		"io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set",
	}
	allowMemory = []string{
		"brk", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret",
		"mincore", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mremap", "msync",
		"munlock", "munlockall", "munmap", "pkey_alloc", "pkey_free", "pkey_mprotect",
		"remap_file_pages",
	}
	allowProcess = []string{
		"capget", "capset", "execve", "execveat", "exit", "exit_group", "fork", "getcpu",
		"getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups",
		"getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
		"getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list",
		"getrusage", "getsid", "get_thread_area", "gettid", "getuid", "getuid32", "kill",
		"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "pidfd_getfd",
		"pidfd_open", "pidfd_send_signal", "prctl", "prlimit64", "process_mrelease", "restart_syscall",
		"rseq", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
		"sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
		"sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
		"sched_setscheduler", "sched_yield", "seccomp", "setfsgid", "setfsgid32", "setfsuid",
		"setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setpgid", "setpriority",
		"setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32",
		"setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "set_thread_area",
		"set_tid_address", "setuid", "setuid32", "tgkill", "tkill", "ugetrlimit", "uname", "vfork",
		"wait4", "waitid", "waitpid", "arch_prctl", "modify_ldt", "breakpoint", "cacheflush",
		"set_tls", "riscv_flush_icache", "riscv_hwprobe",
	}
	allowSignals = []string{
		"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
		"rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
		"sigaction", "sigaltstack", "signal", "sigpending", "sigprocmask", "sigreturn", "sigsuspend",
	}
	allowTime = []string{
		"alarm", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
		"clock_nanosleep", "clock_nanosleep_time64", "futex", "futex_requeue", "futex_time64",
		"futex_wait", "futex_waitv", "futex_wake", "getitimer", "gettimeofday", "nanosleep",
		"setitimer", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
		"timer_gettime64", "timer_settime", "timer_settime64", "times",
	}
	allowIPC = []string{
		"ipc", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
		"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
		"pipe", "pipe2", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "shmat",
		"shmctl", "shmdt", "shmget",
	}
	allowNet = []string{
		"accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen",
		"recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg",
		"sendto", "setsockopt", "shutdown", "socketcall", "socketpair",
	}
	allowSystem = []string{"sysinfo"}
	// chroot needs CAP_SYS_CHROOT, which Docker's default capability set includes.
	allowCaps = []string{"chroot"}
)

// Personalities a container may switch to: PER_LINUX, PER_LINUX32, UNAME26,
// UNAME26|PER_LINUX32, and 0xffffffff, which only queries the current one.
var allowedPersonalities = []uint64{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}

// Clone flags that create namespaces; a container without CAP_SYS_ADMIN may not use them.
const cloneNamespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Default returns hull's default profile for `hull spec`: an allowlist in the spirit of
// Docker's default. Everything not listed fails with EPERM; notably kexec_load,
// keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd, mount and umount2,
// unshare and setns, pivot_root, reboot, module loading, swapon, acct, clock_settime,
// ptrace and process_vm_readv/writev, and io_uring, which either need capabilities a default
// container lacks or have a history of kernel bugs.
func Default() *specs.LinuxSeccomp {
	eperm := uint(unix.EPERM)
	enosys := uint(unix.ENOSYS)
	allow := func(groups ...[]string) specs.LinuxSyscall {
		var names []string
		for _, g := range groups {
			names = append(names, g...)
		}
		return specs.LinuxSyscall{Names: names, Action: specs.ActAllow}
	}

	s := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Architectures:   defaultArches(),
		Syscalls: []specs.LinuxSyscall{
			allow(allowFiles, allowXattrs, allowEvents, allowAIO, allowMemory, allowProcess,
				allowSignals, allowTime, allowIPC, allowNet, allowSystem, allowCaps),
			// clone is fine as long as it makes no namespaces. The flags are the first
			// argument everywhere but s390, where the stack pointer comes first.
			{
				Names:  []string{"clone"},
				Action: specs.ActAllow,
				Args:   []specs.LinuxSeccompArg{{Index: cloneFlagsArg(), Op: specs.OpMaskedEqual, Value: cloneNamespaceFlags, ValueTwo: 0}},
			},
			// clone3 passes its flags in a struct that seccomp cannot read, so answer
			// ENOSYS: libc then falls back to clone, which the rule above checks.
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
			// Any socket family but AF_VSOCK, which would reach the host.
			{
				Names:  []string{"socket"},
				Action: specs.ActAllow,
				Args:   []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpNotEqual, Value: unix.AF_VSOCK}},
			},
		},
	}
	for _, p := range allowedPersonalities {
		s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{
			Names:  []string{"personality"},
			Action: specs.ActAllow,
			Args:   []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: p}},
		})
	}
	return s
}

// defaultArches admits the host's ABI and the 32-bit ABIs its CPU can run.
func defaultArches() []specs.Arch {
	switch goruntime.GOARCH {
	case "amd64", "386":
		return []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	case "arm64", "arm":
		return []specs.Arch{specs.ArchAARCH64, specs.ArchARM}
	case "s390x":
		return []specs.Arch{specs.ArchS390X, specs.ArchS390}
	}
	native, _ := nativeArch()
	if native == "" {
		return nil
	}
	return []specs.Arch{native}
}

func cloneFlagsArg() uint {
	if goruntime.GOARCH == "s390x" {
		return 1
	}
	return 0
}
