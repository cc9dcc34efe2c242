package initproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/sysmon"
)

// RunHooks runs hooks of one kind in order, each with the container's state on stdin (config.md,
// "POSIX-platform Hooks"). It stops at the first failure; callers decide whether that is fatal
// (prestart, createRuntime, createContainer, startContainer) or only a warning (poststart, poststop).
func RunHooks(ctx context.Context, step StepFunc, kind string, hooks []specs.Hook, st specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	state, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode state for %s hooks: %w", kind, err)
	}
	for i, h := range hooks {
		err := step("hook", fmt.Sprintf("%s #%d %s %s", kind, i, h.Path, strings.Join(h.Args, " ")), func() error {
			return runHook(ctx, h, state)
		})
		if err != nil {
			return fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err)
		}
	}
	return nil
}

// StepFunc times fn and records it as one step: Runtime.step in the parent, the remote
// recorder in the init.
type StepFunc func(op, args string, fn func() error) error

func runHook(ctx context.Context, h specs.Hook, state []byte) error {
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args // args[0] is argv[0], as in execv(3)
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{} // a hook gets exactly the env the spec lists, never hull's
	}
	cmd.Stdin = bytes.NewReader(state)
	// A hook's children (a shell script's `sleep`) share its output pipe: kill the whole process
	// group on timeout, and stop waiting for the pipe soon after the hook itself is gone, or one
	// orphan would hold create for as long as it lives.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := sysmon.WithHostSlack(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // the hook succeeded; only an orphan of it still held the pipe
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if o := strings.TrimSpace(out.String()); o != "" {
			return fmt.Errorf("%w: %s", err, o)
		}
		return err
	}
	return nil
}
