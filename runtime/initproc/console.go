package initproc

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleFD is where the parent put the connected --console-socket (ExtraFiles[1]).
const consoleFD = 4

// setupConsole makes the process's terminal inside the container: a pty pair from the container's
// own devpts, the master sent to the caller over the console socket (SCM_RIGHTS), the slave made
// stdin/stdout/stderr and the controlling terminal of our session.
func (in *initProc) setupConsole(p *specs.Process) error {
	if !in.b.Console {
		return fmt.Errorf("process.terminal is true but no --console-socket was given")
	}
	var master int
	err := in.rec.step("open", "/dev/ptmx", func() (err error) {
		master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("pty number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	defer unix.Close(slave)
	if sz := p.ConsoleSize; sz != nil {
		ws := &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)}
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("set console size: %w", err)
		}
	}
	if err := in.rec.step("sendmsg", fmt.Sprintf("SCM_RIGHTS pty master (%s) → console socket", name), func() error {
		return unix.Sendmsg(consoleFD, []byte(name), unix.UnixRights(master), nil, 0)
	}); err != nil {
		return fmt.Errorf("send pty master to console socket: %w", err)
	}
	unix.Close(consoleFD)
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup pty to fd %d: %w", fd, err)
		}
	}
	if err := in.rec.step("ioctl", "TIOCSCTTY "+name, func() error { return unix.IoctlSetInt(0, unix.TIOCSCTTY, 0) }); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	return nil
}
