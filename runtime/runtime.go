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
}

// NotRunningError is returned by kill for a stopped container; the text is runc's,
// which containerd's shim and podman match on.
type NotRunningError struct{ ID string }

func (e NotRunningError) Error() string {
	return fmt.Sprintf("container %s: container not running", e.ID)
}
