package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// Run creates and starts a container. Detached, it returns once the process runs; otherwise it
// forwards signals to the container, waits for the process, deletes the container and returns
// the exit code as a shell would report it (128+signal for a killed process).
//
// In the foreground it leaves the forwarded signals caught when it returns (they go to a channel
// no one reads): it is the last thing a hull process does, and signal.Stop would cost as much as
// signal.Notify (see forward.go).
func (r *Runtime) Run(ctx context.Context, o CreateOptions, detach bool) (int, error) {
	var sigs chan os.Signal
	var notified <-chan struct{}
	if !detach {
		// Catch signals before the process starts, so none meant for it is lost; set up while
		// the container is made.
		sigs = make(chan os.Signal, 16)
		notified = notifyForwarded(sigs)
		defer func() { <-notified }() // the goroutine is ours to wait for, on every path
	}
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
	if sigs != nil {
		<-notified
	}
	if err := r.startCreated(ctx, c); err != nil {
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
	ws, err := c.sp.reap()
	code := exitCode(ws, err)
	r.Step("wait4", fmt.Sprintf("pid %d: exit code %d", c.state.Pid, code), err, time.Since(t0))
	waitTTY()
	if err := r.deleteExited(ctx, c); err != nil {
		return code, err
	}
	return code, nil
}

// startCreated starts the container create just made, from the state in memory: it is
// "created", and no one else can have started it, since its state file was written by us
// a moment ago and start takes the lock.
func (r *Runtime) startCreated(ctx context.Context, c *creation) error {
	unlock, err := r.lock(c.state.ID)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Lstat(r.fifo(c.state.ID)); err != nil {
		return fmt.Errorf("cannot start container %s: %w", c.state.ID, err) // someone else was quicker
	}
	return r.start(ctx, c.state)
}

// deleteExited deletes the container Run made once its process was reaped, with the state and
// cgroup manager from create; unless someone deleted it meanwhile.
func (r *Runtime) deleteExited(ctx context.Context, c *creation) error {
	unlock, err := r.lock(c.state.ID)
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(r.stateFile(c.state.ID)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return r.destroy(ctx, c.state, c.cg)
}
