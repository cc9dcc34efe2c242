package sysmon

import (
	goruntime "runtime"
	"syscall"
)

// This package imports only runtime and syscall: package early calls Quiet from a package init,
// and Go runs each init only after those of the packages it imports (fmt, time and os would
// bring internal/godebug and the rest first, a millisecond of sysmon naps later).

// napSlack is the timer slack Quiet gives sysmon: its naps end within 3 ms (see doc.go for
// why not 1).
const napSlack = 3_000_000 // ns

// hostSlack is the timer slack the process's threads had when Quiet widened sysmon's, which
// every forked process must inherit; 0 when Quiet changed nothing. quieted is Quiet's write, for
// the narration. Both are written once by Quiet, before the process starts goroutines of its own.
var (
	hostSlack uintptr
	quieted   *step
)

type step struct {
	args   string
	err    error
	tookNS int64
}

// Quiet widens the timer slack of the Go runtime's sysmon thread (see the package doc). It is
// best effort: without CAP_SYS_NICE, or when it cannot tell which thread is sysmon, it changes
// nothing. Call it before any goroutine forks (package early calls it from a package init).
func Quiet() {
	slack, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_GET_TIMERSLACK, 0, 0)
	if errno != 0 || slack >= napSlack {
		return
	}
	t0 := now()
	tid, ok := sysmonTID()
	if !ok {
		return
	}
	path := "/proc/" + itoa(tid) + "/timerslack_ns"
	err := writeShort(path, itoa(napSlack))
	quieted = &step{args: itoa(napSlack) + " > " + path, err: err, tookNS: now() - t0}
	if err == nil { // else not ours to change (no CAP_SYS_NICE): sysmon naps as Go made it
		hostSlack = slack
	}
}

// Narrate reports Quiet's write, if it made one, as a step: op, args, error, duration in ns.
func Narrate(record func(op, args string, err error, tookNS int64)) {
	if quieted != nil {
		record("write", quieted.args, quieted.err, quieted.tookNS)
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
func sysmonTID() (int, bool) {
	pid := syscall.Getpid()
	napping := itoa(syscall.SYS_NANOSLEEP) + " "
	for tid := pid + 1; tid <= pid+4; tid++ {
		call, err := readShort("/proc/self/task/" + itoa(tid) + "/syscall")
		if err == syscall.ENOENT {
			continue // not a thread of this process
		}
		if err != nil || !(len(call) > len(napping) && call[:len(napping)] == napping || call == "running\n") {
			return 0, false
		}
		return tid, true
	}
	return 0, false
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
	// On error the thread keeps its own slack.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_TIMERSLACK, hostSlack, 0)
	return start()
}

// readShort reads the start of a small kernel file with plain system calls (an os.File would
// also set up Go's network poller, for nothing).
func readShort(path string) (string, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	var b [64]byte
	n, err := syscall.Read(fd, b[:])
	if err != nil {
		return "", err
	}
	return string(b[:n]), nil
}

// writeShort writes a value to a kernel file, with plain system calls as readShort.
func writeShort(path, value string) error {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	_, err = syscall.Write(fd, []byte(value))
	return err
}

// itoa formats a non-negative int (strconv would be one more package to initialize first).
func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// now is the wall clock in ns, good to a microsecond (package time would be initialized first).
func now() int64 {
	var tv syscall.Timeval
	_ = syscall.Gettimeofday(&tv)
	return tv.Nano()
}
