package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// procStart reads a process's start time (clock ticks since boot, field 22 of /proc/<pid>/stat)
// and whether it is a zombie. Together with the pid it names one process for good.
func procStart(pid int) (start uint64, zombie bool, err error) {
	b, err := readFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name (field 2) may hold spaces and parentheses: parse after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 {
		return 0, false, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return start, string(f[0]) == "Z" || string(f[0]) == "X", err
}

// alive reports whether the container's init is still the process we started.
func (s *State) alive() bool {
	if s.Pid <= 0 {
		return false
	}
	start, zombie, err := procStart(s.Pid)
	return err == nil && !zombie && start == s.PidStart
}

// status derives the container's status from the kernel, never from the file alone.
func (r *Runtime) status(s *State) Status {
	if !s.alive() {
		return Stopped
	}
	if _, err := os.Lstat(r.fifo(s.ID)); err == nil {
		return Created
	}
	if cg, err := r.loadCgroup(s); err == nil {
		if frozen, err := cg.Frozen(); err == nil && frozen {
			return Paused
		}
	}
	return Running
}

// pidfd opens a pidfd for the container's init and checks afterwards that the pid was not
// reused in between, so signals sent through it reach the right process.
func (s *State) pidfd() (int, error) {
	fd, err := unix.PidfdOpen(s.Pid, 0)
	if err != nil {
		return -1, err
	}
	if !s.alive() {
		unix.Close(fd)
		return -1, unix.ESRCH
	}
	return fd, nil
}

// waitExit blocks until the process behind pidfd exits (poll on a pidfd: no sleep, no polling loop).
func waitExit(pidfd int, timeoutMs int) error {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, timeoutMs)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfd: %w", err)
		}
		if n == 0 {
			return errors.New("process did not exit in time")
		}
		return nil
	}
}
