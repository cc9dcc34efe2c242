package runtime

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// consolePair is what `run` uses instead of a --console-socket: the init sends the pty master
// to one end, hull keeps the other and relays the terminal itself, as runc does.
func consolePair() (child, parent *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console"), nil
}

// recvMaster receives the pty master the init sent with SCM_RIGHTS.
func recvMaster(sock *os.File) (*os.File, error) {
	buf, oob := make([]byte, 64), make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("receive pty master: no fd in the message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("receive pty master: no fd in the message")
	}
	return os.NewFile(uintptr(fds[0]), "ptmx"), nil
}

// terminal relays between hull's stdio and the container's pty until the pty closes: stdin is
// put in raw mode (keys go to the container's line discipline, not ours) and window size
// changes follow the user's terminal. The returned func waits for the output to drain and
// restores stdin.
func terminal(master *os.File) (wait func()) {
	in := int(os.Stdin.Fd())
	var restore func()
	if old, err := unix.IoctlGetTermios(in, unix.TCGETS); err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		if unix.IoctlSetTermios(in, unix.TCSETS, &raw) == nil {
			restore = func() { _ = unix.IoctlSetTermios(in, unix.TCSETS, old) }
		}
		resize := func() {
			if ws, err := unix.IoctlGetWinsize(in, unix.TIOCGWINSZ); err == nil {
				_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws)
			}
		}
		resize()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, unix.SIGWINCH)
		go func() {
			for range winch {
				resize()
			}
		}()
		prev := restore
		restore = func() {
			signal.Stop(winch)
			close(winch)
			if prev != nil {
				prev()
			}
		}
	}
	go func() { _, _ = io.Copy(master, os.Stdin) }() // ends with hull; stdin reads can't be interrupted
	var out sync.WaitGroup
	out.Add(1)
	go func() {
		defer out.Done()
		_, _ = io.Copy(os.Stdout, master) // EIO once the last slave fd closes: the process is gone
	}()
	return func() {
		out.Wait()
		master.Close()
		if restore != nil {
			restore()
		}
	}
}
