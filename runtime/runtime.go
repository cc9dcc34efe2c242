package runtime

import (
	"fmt"
	"log/slog"
)

// Runtime is hull's OCI runtime: the state root and the logger every operation narrates to.
type Runtime struct {
	Root       string       // state directory, /run/hull unless --root says otherwise
	NetworkDir string       // networks and leases, DefaultNetworkDir when empty
	Log        *slog.Logger // debug lines narrate each kernel step
	Trace      Tracer       // --explain, --trace json: every step as an Event (trace.go); nil for none
	// OneShot says that no thread of this process ends while it creates a container: true of
	// the CLI (one command per process), not of the supervisor, whose execs into containers
	// retire the threads they changed. A container's init dies with the thread that cloned it
	// until it is created (its parent-death signal), so unless OneShot, create clones it from
	// a thread locked for the purpose (spawn.go).
	OneShot bool
}

// NotRunningError is returned by kill for a stopped container; the text is runc's,
// which containerd's shim and podman match on.
type NotRunningError struct{ ID string }

func (e NotRunningError) Error() string {
	return fmt.Sprintf("container %s: container not running", e.ID)
}
