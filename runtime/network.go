package runtime

import (
	"context"
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/netns"
)

// NetworkAnnotation names the hull network a container joins. It is hull's own extension: an
// OCI bundle only names a network namespace, and podman, containerd and Docker, which wire their
// own networks, never set it, so runc's verbs behave for them exactly as runc's do.
const NetworkAnnotation = "org.hullrt.network"

// DefaultNetworkDir is where networks and address leases live unless --network-dir says otherwise.
const DefaultNetworkDir = "/var/lib/hull/networks"

// Networks opens the network store (package netns) in the caller's network namespace.
func (r *Runtime) Networks() (*netns.Store, error) {
	dir := r.NetworkDir
	if dir == "" {
		dir = DefaultNetworkDir
	}
	return netns.Open(dir, r)
}

// checkNetwork refuses the network annotation on a spec without a new network namespace:
// wiring eth0 into the host's or someone else's namespace is never what was meant.
func checkNetwork(s *specs.Spec) error {
	if s.Annotations[NetworkAnnotation] == "" {
		return nil
	}
	if !namespaces.IsNew(s.Linux.Namespaces, specs.NetworkNamespace) {
		return fmt.Errorf("annotation %s needs a new network namespace in linux.namespaces", NetworkAnnotation)
	}
	return nil
}

// attachNetwork leases an address and wires eth0 into the init's network namespace.
func (r *Runtime) attachNetwork(ctx context.Context, st *State) (undo func(), err error) {
	name := st.Spec.Annotations[NetworkAnnotation]
	if name == "" {
		return func() {}, nil
	}
	store, err := r.Networks()
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	defer store.Close()
	a, err := store.Attach(ctx, name, st.ID, namespaces.ProcPath(st.Pid, specs.NetworkNamespace))
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	st.Network, st.Address = name, a.Addr.String()
	return func() { _ = r.detachNetwork(ctx, st) }, nil
}

// detachNetwork releases the container's lease and its host-side veth; safe to repeat.
func (r *Runtime) detachNetwork(ctx context.Context, st *State) error {
	if st.Network == "" {
		return nil
	}
	store, err := r.Networks()
	if err != nil {
		return fmt.Errorf("network %s: %w", st.Network, err)
	}
	defer store.Close()
	if err := store.Detach(ctx, st.Network, st.ID); err != nil && !errors.Is(err, netns.ErrNotFound) {
		return fmt.Errorf("detach %s from network %s: %w", st.ID, st.Network, err)
	}
	return nil
}
