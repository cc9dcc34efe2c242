package stub

//go:generate sh build.sh

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// stubBin is stub.c built by build.sh: a static x86_64 ELF without libc.
//
//go:embed stub.bin
var stubBin []byte

// Exec replaces the calling process with the stub, which waits on p.FifoFD
// if set, takes on p's identity and executes p.Path. It returns only on
// failure; failures after the stub started go to fd 2 and exit status 127
// (126 if p.Path is not executable).
//
// Call it last in the container's init, with /proc mounted (the stub reopens
// the fifo through /proc/self/fd) and every other fd close-on-exec.
func Exec(p Program) error {
	if goruntime.GOARCH != "amd64" {
		return fmt.Errorf("stub: no stub built for %s", goruntime.GOARCH)
	}
	prog, err := encodeProgram(p)
	if err != nil {
		return err
	}

	// Keep the thread whose fd flags we change the one that execs; the
	// whole fd table is shared, but this also keeps the Go scheduler
	// from starting work on this thread mid-exec.
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()

	exe, err := sealedMemfd("hull-stub", stubBin, unix.MFD_EXEC)
	if err != nil {
		return err
	}
	defer unix.Close(exe)
	progFD, err := sealedMemfd("hull-program", prog, unix.MFD_NOEXEC_SEAL)
	if err != nil {
		return err
	}
	defer unix.Close(progFD)

	// Both fds must survive the execveat; the stub closes them itself.
	if err := clearCloexec(progFD); err != nil {
		return fmt.Errorf("stub: program fd: %w", err)
	}
	if p.FifoFD >= 0 {
		if err := clearCloexec(p.FifoFD); err != nil {
			return fmt.Errorf("stub: fifo fd %d: %w", p.FifoFD, err)
		}
	}

	argv := []string{"hull-stub", strconv.Itoa(progFD)}
	if p.TimeNSFD > 0 {
		if err := clearCloexec(p.TimeNSFD); err != nil {
			return fmt.Errorf("stub: time namespace fd %d: %w", p.TimeNSFD, err)
		}
		argv = append(argv, strconv.Itoa(p.TimeNSFD))
	}
	return execFD(exe, argv)
}

// sealedMemfd returns a close-on-exec memfd holding data, sealed so no one can
// change it any more: the stub's exe and its program cannot be rewritten from
// inside the container. extra is MFD_EXEC or MFD_NOEXEC_SEAL, which kernels
// since 6.3 want stated (vm.memfd_noexec); older ones reject it with EINVAL.
func sealedMemfd(name string, data []byte, extra int) (fd int, err error) {
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	fd, err = unix.MemfdCreate(name, flags|extra)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate(name, flags)
	}
	if err != nil {
		return -1, fmt.Errorf("stub: memfd_create %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			unix.Close(fd)
		}
	}()
	for rest := data; len(rest) > 0; {
		n, err := unix.Write(fd, rest)
		if err != nil {
			return -1, fmt.Errorf("stub: write %s: %w", name, err)
		}
		rest = rest[n:]
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return -1, fmt.Errorf("stub: seal %s: %w", name, err)
	}
	return fd, nil
}

func clearCloexec(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0)
	return err
}

// execFD executes the program behind fd through /proc/self/fd with syscall.Exec rather than a
// raw execveat(2): Go raised its own soft RLIMIT_NOFILE at start-up, and syscall.Exec puts the
// original back first, so a container whose spec sets no RLIMIT_NOFILE gets the limit hull was
// started with, not Go's. (A spec'd limit set with syscall.Setrlimit tells Go to leave it.)
// The memfd is close-on-exec, which execve of an ELF file through /proc/self/fd allows.
func execFD(fd int, argv []string) error {
	err := syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), argv, []string{})
	return fmt.Errorf("stub: exec hull-stub: %w", err)
}

// encodeProgram is Encode with CapLastCap read from the kernel when the caller left it 0.
func encodeProgram(p Program) ([]byte, error) {
	if p.CapLastCap == 0 {
		last, err := capLastCap()
		if err != nil {
			return nil, err
		}
		p.CapLastCap = last
	}
	return Encode(p)
}

func capLastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("stub: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("stub: cap_last_cap %q: %w", b, err)
	}
	return n, nil
}

// Prepare is for starting the stub as a new process (hull exec) instead of replacing this one:
// it returns the sealed stub and its encoded program as close-on-exec memfds. The caller hands
// both to the child and starts "/proc/self/fd/<exe's fd in the child>" with Argv. p.FifoFD,
// if set, must be the fifo's fd number in the child.
func Prepare(p Program) (exe, prog *os.File, err error) {
	if goruntime.GOARCH != "amd64" {
		return nil, nil, fmt.Errorf("stub: no stub built for %s", goruntime.GOARCH)
	}
	data, err := encodeProgram(p)
	if err != nil {
		return nil, nil, err
	}
	efd, err := sealedMemfd("hull-stub", stubBin, unix.MFD_EXEC)
	if err != nil {
		return nil, nil, err
	}
	pfd, err := sealedMemfd("hull-program", data, unix.MFD_NOEXEC_SEAL)
	if err != nil {
		unix.Close(efd)
		return nil, nil, err
	}
	return os.NewFile(uintptr(efd), "memfd:hull-stub"), os.NewFile(uintptr(pfd), "memfd:hull-program"), nil
}

// Argv is the stub's command line for a program at progFD, joining the namespaces at nsFDs
// first, in that order (their numbers in the child; a user namespace first). The stub joins
// these because the kernel lets only a single-threaded process setns(2) into a user or time
// namespace.
func Argv(progFD int, nsFDs ...int) []string {
	argv := []string{"hull-stub", strconv.Itoa(progFD)}
	for _, fd := range nsFDs {
		argv = append(argv, strconv.Itoa(fd))
	}
	return argv
}

// Exe returns the sealed stub as a close-on-exec memfd, for starting it as a new process.
func Exe() (*os.File, error) {
	if goruntime.GOARCH != "amd64" {
		return nil, fmt.Errorf("stub: no stub built for %s", goruntime.GOARCH)
	}
	fd, err := sealedMemfd("hull-stub", stubBin, unix.MFD_EXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "memfd:hull-stub"), nil
}
