package hostrt

import (
	"context"
	"net/netip"
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

func (b Balancer) SetEndpoints(ctx context.Context, service string, ports []supervisor.Port, addrs, draining []netip.Addr) error {
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
		return err
	}
	defer st.Close()
	if len(svc.Ports) == 0 {
		return st.UnpublishService(ctx, svc.Name)
	}
	return st.PublishService(ctx, svc)
}

func (b Balancer) Remove(ctx context.Context, service string) error {
	st, err := b.RT.Networks()
	if err != nil {
		return err
	}
	defer st.Close()
	return st.UnpublishService(ctx, serviceName(service))
}
