package hostrt

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/hullrt/hull/netns"
	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/supervisor"
)

// Balancer publishes a service's ports through netns' services: nftables DNAT spread
// round-robin over the ready replicas, replaced in one transaction, with the conntrack entries
// of replicas that left deleted at once.
type Balancer struct{ RT *runtime.Runtime }

var _ supervisor.Balancer = Balancer{}

// serviceName maps the supervisor's "project/service" to a netns service name ('/' is not
// allowed there; '.' cannot appear in a compose project or service name, so nothing collides).
func serviceName(key string) string { return strings.ReplaceAll(key, "/", ".") }

func (b Balancer) SetEndpoints(ctx context.Context, service string, ports []supervisor.Port, addrs, draining []netip.Addr) (netip.Addr, error) {
	project, _, _ := strings.Cut(service, "/")
	svc := netns.Service{Name: serviceName(service), Network: supervisor.NetworkName(project)}
	for _, p := range ports {
		svc.Ports = append(svc.Ports, netns.Port{Proto: p.Protocol, HostPort: p.Published, ContainerPort: p.Target})
	}
	for _, a := range addrs {
		svc.Endpoints = append(svc.Endpoints, netns.Endpoint{Addr: a})
	}
	for _, a := range draining {
		svc.Draining = append(svc.Draining, netns.Endpoint{Addr: a})
	}
	st, err := b.RT.Networks()
	if err != nil {
		return netip.Addr{}, err
	}
	defer st.Close()
	if svc.VIP, err = st.ServiceVIP(ctx, svc.Network, svc.Name); err != nil {
		return netip.Addr{}, err
	}
	return svc.VIP, st.PublishService(ctx, svc)
}

// Hosts writes the service names into a replica's /etc/hosts: the file the runtime made in
// the container's state directory and bind-mounted, rewritten in place (same inode, so the
// container sees it) below a marker line.
type Hosts struct{ RT *runtime.Runtime }

var _ supervisor.Hosts = Hosts{}

const hostsMarker = "# hull services"

func (h Hosts) SetHosts(id string, lines []string) error {
	path := filepath.Join(h.RT.Root, id, "hosts")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hosts of %s: %w", id, err)
	}
	head, _, _ := strings.Cut(string(b), hostsMarker+"\n")
	out := head + hostsMarker + "\n" + strings.Join(lines, "\n")
	if len(lines) > 0 {
		out += "\n"
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("hosts of %s: %w", id, err)
	}
	_, err = f.WriteString(out)
	return errors.Join(err, f.Close())
}

func (b Balancer) Remove(ctx context.Context, service string) error {
	st, err := b.RT.Networks()
	if err != nil {
		return err
	}
	defer st.Close()
	return st.UnpublishService(ctx, serviceName(service))
}
