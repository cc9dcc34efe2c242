package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// errNotify is returned for SCMP_ACT_NOTIFY: user notification needs a listener fd
// sent to the runtime over listenerPath, which hull does not implement yet.
var errNotify = errors.New("SCMP_ACT_NOTIFY is not supported yet")

// retValue turns an OCI action into the 32-bit value the filter returns.
// errnoRet is the errno for SCMP_ACT_ERRNO and the message for SCMP_ACT_TRACE,
// EPERM when nil, like runc. The runtime spec: "When the action doesn't support an
// errno, the runtime MUST print and error and fail."
func retValue(act specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		if act != specs.ActErrno && act != specs.ActTrace {
			return 0, fmt.Errorf("errnoRet given for %s, which returns no errno", act)
		}
		if *errnoRet > unix.SECCOMP_RET_DATA {
			return 0, fmt.Errorf("errnoRet %d does not fit in 16 bits", *errnoRet)
		}
		data = uint32(*errnoRet)
	}
	switch act {
	case specs.ActKill, specs.ActKillThread:
		// libseccomp's SCMP_ACT_KILL has always meant "kill the thread".
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, errNotify
	}
	return 0, fmt.Errorf("unknown action %q", act)
}

// permissive reports whether a default action lets unknown syscalls through, in
// which case the ENOSYS stub for new syscalls would tighten, not loosen, the filter.
func permissive(ret uint32) bool {
	switch ret & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_ALLOW, unix.SECCOMP_RET_LOG, unix.SECCOMP_RET_TRACE:
		return true
	}
	return false
}

var filterFlags = map[specs.LinuxSeccompFlag]uint{
	"SECCOMP_FILTER_FLAG_TSYNC":     unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:       unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow: unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
}

func parseFlags(flags []specs.LinuxSeccompFlag) (uint, error) {
	var out uint
	for _, f := range flags {
		if f == specs.LinuxSeccompFlagWaitKillableRecv {
			return 0, fmt.Errorf("flag %s: %w", f, errNotify)
		}
		v, ok := filterFlags[f]
		if !ok {
			return 0, fmt.Errorf("unknown flag %q", f)
		}
		out |= v
	}
	return out, nil
}
