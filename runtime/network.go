//go:build !hulllean

package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/netns"
	"github.com/hullrt/hull/runtime/sysmon"
)

// The files a container on a hull network gets, generated in its state directory and
// bind-mounted over the rootfs's (which is never written, and may be read-only).
var networkFiles = []struct{ name, dst string }{
	{"hosts", "/etc/hosts"}, {"resolv.conf", "/etc/resolv.conf"}, {"hostname", "/etc/hostname"},
}

// publishedPorts are a container's published ports, parsed (the lean build has no netns).
type publishedPorts = []netns.Port

// Networks opens the network store (package netns) in the caller's network namespace.
func (r *Runtime) Networks() (*netns.Store, error) {
	dir := r.NetworkDir
	if dir == "" {
		dir = DefaultNetworkDir
	}
	return netns.Open(dir, r, netns.ForkWith(sysmon.WithHostSlack))
}

// ServiceName is the name of the service that carries container id's published ports:
// "ctr-ID", or "ctr-" and a hash of the id when the id does not fit a service name (ids may
// hold '+' and be longer).
func ServiceName(id string) string {
	if n := "ctr-" + id; serviceNameRE().MatchString(n) {
		return n
	}
	h := sha256.Sum256([]byte(id))
	return "ctr-" + hex.EncodeToString(h[:16])
}

// serviceNameRE is netns's rule for names.
// Compiled on first use: package-level work is paid by every hull process at start-up.
var serviceNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$`) })

// checkNetwork applies create's --network and --publish to the spec's annotations, and
// refuses what cannot work: a network without a new network namespace (wiring eth0 into the
// host's or someone else's namespace is never what was meant), published ports without a
// network, ports that do not parse.
func checkNetwork(s *specs.Spec, o CreateOptions) (publishedPorts, error) {
	if o.Network != "" || o.Publish != "" {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		if o.Network != "" {
			s.Annotations[NetworkAnnotation] = o.Network
		}
		if o.Publish != "" {
			s.Annotations[PublishAnnotation] = o.Publish
		}
	}
	network, publish := s.Annotations[NetworkAnnotation], s.Annotations[PublishAnnotation]
	if network == "" {
		if publish != "" {
			return nil, fmt.Errorf("annotation %s (--publish) needs a network: annotation %s (--network)", PublishAnnotation, NetworkAnnotation)
		}
		return nil, nil
	}
	if s.Linux == nil || !namespaces.IsNew(s.Linux.Namespaces, specs.NetworkNamespace) {
		return nil, fmt.Errorf("annotation %s needs a new network namespace in linux.namespaces", NetworkAnnotation)
	}
	ports, err := netns.ParsePorts(publish)
	if err != nil {
		return nil, fmt.Errorf("annotation %s: %w", PublishAnnotation, err)
	}
	return ports, nil
}

// prepareNetworkFiles creates empty /etc/hosts, resolv.conf and hostname files in the state
// directory and adds bind mounts of them to the spec, for a container joining a hull network.
// Their content is written once the address is known (writeNetworkFiles), in place, so the
// mounts made by the init show it; the user's process starts only after that. A mount of the
// same destination in config.json wins: the bundle's author asked for it.
func (r *Runtime) prepareNetworkFiles(st *State) error {
	if st.Spec.Annotations[NetworkAnnotation] == "" {
		return nil
	}
	for _, f := range networkFiles {
		if f.name == "hostname" && st.Spec.Hostname == "" {
			continue // no hostname of its own: the file would contradict uname -n
		}
		if hasMount(st.Spec, f.dst) {
			continue
		}
		src := filepath.Join(r.dir(st.ID), f.name)
		if err := os.WriteFile(src, nil, 0o644); err != nil {
			return fmt.Errorf("network file: %w", err)
		}
		st.Spec.Mounts = append(st.Spec.Mounts, specs.Mount{Destination: f.dst, Type: "bind", Source: src,
			Options: []string{"rbind", "rprivate", "nosuid", "nodev", "noexec"}})
	}
	return nil
}

func hasMount(s *specs.Spec, dst string) bool {
	for _, m := range s.Mounts {
		if filepath.Clean(m.Destination) == dst {
			return true
		}
	}
	return false
}

// writeNetworkFiles fills the files prepareNetworkFiles made.
func (r *Runtime) writeNetworkFiles(st *State, addr netip.Addr) error {
	host, _ := os.ReadFile(netns.HostResolvConf) // a host without one gets the defaults
	resolved, _ := os.ReadFile(netns.ResolvedConf)
	content := map[string][]byte{
		"hosts":       netns.HostsFile(st.Spec.Hostname, addr),
		"resolv.conf": netns.ResolvConf(host, resolved),
		"hostname":    []byte(st.Spec.Hostname + "\n"),
	}
	for _, f := range networkFiles {
		path := filepath.Join(r.dir(st.ID), f.name)
		if _, err := os.Stat(path); err != nil {
			continue // not mounted: see prepareNetworkFiles
		}
		// In place (O_TRUNC, same inode): the init already bind-mounted this very file.
		if err := os.WriteFile(path, content[f.name], 0o644); err != nil {
			return fmt.Errorf("network file: %w", err)
		}
	}
	return nil
}

// attachNetwork leases an address, wires eth0 into the init's network namespace, fills the
// network files and publishes the container's ports. The state is saved first, naming the
// network: should hull die anywhere in here, `hull delete` (or the next create's Collect)
// finds the lease and the service and removes them.
func (r *Runtime) attachNetwork(ctx context.Context, st *State, ports publishedPorts) (undo func(), err error) {
	name := st.Spec.Annotations[NetworkAnnotation]
	if name == "" {
		return func() {}, nil
	}
	store, err := r.Networks()
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	defer store.Close()
	if err := store.Collect(ctx, r.alive); err != nil {
		r.Log.Warn("collect network leftovers", "err", err)
	}
	st.Network = name
	if len(ports) > 0 {
		st.Service = ServiceName(st.ID)
	}
	if err := r.save(st); err != nil {
		return nil, err
	}
	detach := func() { _ = r.detachNetwork(context.WithoutCancel(ctx), st) }
	defer func() {
		if err != nil {
			detach() // the named undo is nil by now
		}
	}()
	a, err := store.Attach(ctx, name, st.ID, namespaces.ProcPath(st.Pid, specs.NetworkNamespace))
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", name, err)
	}
	st.Address = a.Addr.String()
	if err := r.writeNetworkFiles(st, a.Addr.Addr()); err != nil {
		return nil, err
	}
	if st.Service != "" {
		svc := netns.Service{Name: st.Service, Network: name, Owner: st.ID, Ports: ports,
			Endpoints: []netns.Endpoint{{ID: st.ID, Addr: a.Addr.Addr()}}}
		if err := store.PublishService(ctx, svc); err != nil {
			return nil, err
		}
	}
	return detach, nil
}

// detachNetwork unpublishes the container's ports and releases its lease and host-side veth;
// safe to repeat.
func (r *Runtime) detachNetwork(ctx context.Context, st *State) error {
	if st.Network == "" {
		return nil
	}
	store, err := r.Networks()
	if err != nil {
		return fmt.Errorf("network %s: %w", st.Network, err)
	}
	defer store.Close()
	if st.Service != "" {
		if err := store.UnpublishService(ctx, st.Service); err != nil {
			return err
		}
	}
	if err := store.Detach(ctx, st.Network, st.ID); err != nil && !errors.Is(err, netns.ErrNotFound) {
		return fmt.Errorf("detach %s from network %s: %w", st.ID, st.Network, err)
	}
	return nil
}

// Alive reports whether container id still holds its network (see alive): what the network
// store's Collect and Reconcile want to know, for cmd and the supervisor to hand them.
func (r *Runtime) Alive(id string) bool { return r.alive(id) }

// alive tells the network store whether a container still holds its network: its state
// exists and its init runs. A container being created has saved its state before attaching
// (attachNetwork), so it counts as alive; a stopped one does not: its namespace, and with it
// its veth, is gone, and its address and ports must not be left pointing at nothing, or at a
// later container that gets the address.
func (r *Runtime) alive(id string) bool {
	s, err := r.load(id)
	if err != nil {
		return !errors.Is(err, ErrNotExist) // unreadable: keep, rather than guess
	}
	return s.alive()
}
