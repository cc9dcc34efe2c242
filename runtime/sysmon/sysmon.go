package sysmon

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// napSlack is the timer slack Quiet gives sysmon: its naps end within a millisecond.
const napSlack = 1_000_000 // ns

// hostSlack is the timer slack the process's threads had when Quiet widened sysmon's, which
// every forked process must inherit; 0 when Quiet changed nothing. quieted is Quiet's write, for
// the narration. Both are written once by Quiet, before the process starts goroutines of its own.
var (
	hostSlack uintptr
	quieted   *step
)

type step struct {
	args string
	err  error
	took time.Duration
}

// Quiet widens the timer slack of the Go runtime's sysmon thread (see the package doc). It is
// best effort: without CAP_SYS_NICE, or when it cannot tell which thread is sysmon, it changes
// nothing. Call it first thing in main, before any goroutine forks.
func Quiet() {
	slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil || slack >= napSlack {
		return
	}
	t0 := time.Now()
	tid, ok := sysmonTID()
	if !ok {
		return
	}
	path := "/proc/" + tid + "/timerslack_ns"
	err = writeShort(path, strconv.Itoa(napSlack))
	quieted = &step{args: fmt.Sprintf("%d > %s", napSlack, path), err: err, took: time.Since(t0)}
	if err == nil { // else not ours to change (no CAP_SYS_NICE): sysmon naps as Go made it
		hostSlack = uintptr(slack)
	}
}

// Narrate reports Quiet's write, if it made one, as a step: op, args, error, duration.
func Narrate(record func(op, args string, err error, took time.Duration)) {
	if quieted != nil {
		record("write", quieted.args, quieted.err, quieted.took)
	}
}

// sysmonTID finds sysmon: the first thread the runtime starts (runtime.main starts it before
// any package init runs), so the lowest thread id above the process id, usually pid+1 or
// pid+2. Listing /proc/self/task would say so too but costs ~40 µs (the kernel builds an entry
// per thread); each guess costs one open. A guess is checked by what the thread is doing (proc(5),
// /proc/<tid>/syscall): napping in nanosleep(2), or awake between two naps ("running", a
// quarter to a third of the time here). The other threads of a young Go process wait in
// futex(2). Thread ids that wrapped around past the maximum defeat the guess: then nothing is
// found.
func sysmonTID() (string, bool) {
	pid := unix.Getpid()
	for tid := pid + 1; tid <= pid+4; tid++ {
		call, err := readShort("/proc/self/task/" + strconv.Itoa(tid) + "/syscall")
		if errors.Is(err, unix.ENOENT) {
			continue // not a thread of this process
		}
		if err != nil || !(strings.HasPrefix(call, strconv.Itoa(unix.SYS_NANOSLEEP)+" ") || call == "running\n") {
			return "", false
		}
		return strconv.Itoa(tid), true
	}
	return "", false
}

// readShort reads the start of a small kernel file with plain system calls: an os.File would
// set up Go's network poller (epoll) for nothing.
func readShort(path string) (string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	var b [64]byte
	n, err := unix.Read(fd, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// writeShort writes a value to a kernel file, with plain system calls as readShort.
func writeShort(path, value string) error {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, []byte(value))
	return err
}

// WithHostSlack runs start, a function that forks or execs a process (exec.Cmd.Start,
// syscall.ForkExec, syscall.Exec), on a thread whose timer slack is the host's, so the process
// inherits that and never sysmon's. A thread already locked stays locked.
func WithHostSlack(start func() error) error {
	if hostSlack == 0 {
		return start()
	}
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, hostSlack, 0, 0, 0) // on error the thread keeps its own
	return start()
}
