package seccomp

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the filter with seccomp(SECCOMP_SET_MODE_FILTER, f.Flags, prog).
//
// Without SECCOMP_FILTER_FLAG_TSYNC the filter binds only the calling thread, so
// callers lock the OS thread and exec soon after. The kernel refuses the call with
// EACCES unless the thread has no_new_privs set (prctl PR_SET_NO_NEW_PRIVS) or holds
// CAP_SYS_ADMIN in its user namespace: otherwise a filter could fool a setuid program.
func (f Filter) Load() error {
	if len(f.Program) == 0 || len(f.Program) > unix.BPF_MAXINSNS {
		return fmt.Errorf("seccomp: program of %d instructions", len(f.Program))
	}
	prog := unix.SockFprog{Len: uint16(len(f.Program)), Filter: &f.Program[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(f.Flags), uintptr(unsafe.Pointer(&prog)))
	goruntime.KeepAlive(f.Program)
	if errno != 0 {
		return fmt.Errorf("seccomp set_mode_filter: %w", errno)
	}
	if r != 0 {
		// With TSYNC, a positive return names a thread that could not be synchronized.
		return fmt.Errorf("seccomp set_mode_filter: thread %d: %w", r, errors.New("cannot synchronize filter"))
	}
	return nil
}
