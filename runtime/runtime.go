package runtime

import (
	"fmt"
	"log/slog"
	"time"
)

// Runtime is hull's OCI runtime: the state root and the logger every operation narrates to.
type Runtime struct {
	Root       string       // state directory, /run/hull unless --root says otherwise
	NetworkDir string       // networks and leases, DefaultNetworkDir when empty
	Log        *slog.Logger // debug lines narrate each kernel step
}

// Step records one kernel step: it makes Runtime the Recorder of every leaf package.
func (r *Runtime) Step(op, args string, err error, took time.Duration) {
	if err != nil {
		r.Log.Debug(op, "args", args, "took", took.Round(time.Microsecond), "err", err)
		return
	}
	r.Log.Debug(op, "args", args, "took", took.Round(time.Microsecond))
}

// step times fn and records it.
func (r *Runtime) step(op, args string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	r.Step(op, args, err, time.Since(t0))
	return err
}

// NotRunningError is returned by kill for a stopped container; the text is runc's,
// which containerd's shim and podman match on.
type NotRunningError struct{ ID string }

func (e NotRunningError) Error() string {
	return fmt.Sprintf("container %s: container not running", e.ID)
}
