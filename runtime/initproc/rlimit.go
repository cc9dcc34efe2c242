package initproc

import (
	"fmt"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// RlimitResource is the resource (getrlimit(2)) for a spec's rlimit name, and whether there is one.
func RlimitResource(name string) (int, bool) {
	res, ok := rlimitOf[name]
	return res, ok
}

var rlimitOf = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// setRlimits applies the process's rlimits with prlimit(2) on ourselves. The init calls it as the
// last step before it execs the stub: RLIMIT_AS or NOFILE applied earlier could break hull itself.
func setRlimits(rl []specs.POSIXRlimit, step func(op, args string, fn func() error) error) error {
	for _, r := range rl {
		lim := unix.Rlimit{Cur: r.Soft, Max: r.Hard}
		res := rlimitOf[r.Type]
		err := step("prlimit", fmt.Sprintf("%s soft=%d hard=%d", r.Type, r.Soft, r.Hard), func() error {
			if res == unix.RLIMIT_NOFILE {
				// Through Go, so that its exec does not put back the soft limit it started with.
				return syscall.Setrlimit(res, (*syscall.Rlimit)(&lim))
			}
			return unix.Prlimit(0, res, &lim, nil)
		})
		if err != nil {
			return fmt.Errorf("set %s: %w", r.Type, err)
		}
	}
	return nil
}
