package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Run creates and starts a container. Detached, it returns once the process runs; otherwise it
// forwards signals to the container, waits for the process, deletes the container and returns
// the exit code as a shell would report it (128+signal for a killed process).
func (r *Runtime) Run(ctx context.Context, o CreateOptions, detach bool) (int, error) {
	var consoleEnd *os.File
	if !detach && o.ConsoleSocket == "" {
		// In the foreground without --console-socket, hull is the terminal's other end itself.
		child, parent, err := consolePair()
		if err != nil {
			return 0, err
		}
		defer child.Close()
		defer parent.Close()
		o.console, consoleEnd = child, parent
	}
	c, err := r.create(ctx, o)
	if err != nil {
		return 0, err
	}
	defer c.sp.conn.Close()
	waitTTY := func() {}
	if consoleEnd != nil && c.state.Spec.Process != nil && c.state.Spec.Process.Terminal {
		master, err := recvMaster(consoleEnd)
		if err != nil {
			c.release()
			_ = r.Delete(ctx, o.ID, true)
			return 0, err
		}
		waitTTY = terminal(master)
	}
	var sigs chan os.Signal
	if !detach {
		// Catch signals before the process starts, so none meant for it is lost.
		sigs = make(chan os.Signal, 16)
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	if err := r.Start(ctx, o.ID); err != nil {
		c.release()
		_ = r.Delete(ctx, o.ID, true)
		return 0, err
	}
	c.release()
	if detach {
		return 0, nil
	}
	done := make(chan struct{})
	defer close(done)
	go r.forward(sigs, c.sp.pidfd, done)
	t0 := time.Now()
	ps, err := c.sp.proc.Wait()
	code := exitCode(ps, err)
	r.Step("wait4", fmt.Sprintf("pid %d: exit code %d", c.state.Pid, code), err, time.Since(t0))
	waitTTY()
	if derr := r.Delete(ctx, o.ID, true); derr != nil {
		return code, derr
	}
	return code, nil
}

// forward relays the signals hull receives to the container's init, until done.
func (r *Runtime) forward(sigs chan os.Signal, pidfd int, done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if sig == unix.SIGCHLD || sig == unix.SIGURG || sig == unix.SIGPIPE || sig == unix.SIGWINCH {
				continue // ours: child bookkeeping, Go's preemption, a closed pipe, terminal resizes
			}
			_ = unix.PidfdSendSignal(pidfd, sig, nil, 0)
		}
	}
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil || (err != nil && !errors.As(err, new(*exec.ExitError))) {
		return 255 // wait itself failed: there is no exit status to report
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}
