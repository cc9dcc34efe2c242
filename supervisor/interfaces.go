package supervisor

import (
	"context"
	"net/netip"
	"os"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Runtime is what the supervisor needs from a container runtime. Package cmd/hull hands it
// hull's own (in-process, no exec per operation); tests hand it a fake.
type Runtime interface {
	// Create makes a container from spec, its stdout and stderr going to log (never a pipe: the
	// container must not depend on the daemon being alive). It reports the container as created:
	// its pid (to wait on even if it ends at once after start) and address.
	Create(ctx context.Context, id string, spec *specs.Spec, log *os.File) (Observed, error)
	Start(ctx context.Context, id string) error
	Kill(id string, sig syscall.Signal) error
	// Delete removes a container, killing it if it still runs.
	Delete(ctx context.Context, id string) error
	// List reports every container the runtime knows, with its annotations.
	List(ctx context.Context) ([]Observed, error)
	// Wait blocks until the container's process ends and says how. For a container the
	// caller did not create (adopted after a restart) the code is unknowable: Exit.Known false.
	Wait(ctx context.Context, id string, pid int) (Exit, error)
	// Exec runs argv in the container, returning its exit code and (some of) its output; ctx's
	// deadline kills it.
	Exec(ctx context.Context, id string, argv []string) (code int, output string, err error)
}

// Observed is one container as the runtime sees it.
type Observed struct {
	ID          string
	Status      string // created, running, paused, stopped
	Pid         int
	Address     string // on its network, if any
	Annotations map[string]string
}

// ImageConfig is what an image says about running it.
type ImageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string
	// ResolveUser turns a user ("uid[:gid]", "name[:group]") into ids from the container's own
	// /etc/passwd and /etc/group, as Docker does; nil accepts numeric ids only.
	ResolveUser func(user string) (specs.User, error)
}

// Images turns a service's image: into a root filesystem for one container.
type Images interface {
	Prepare(ctx context.Context, ref, containerID string) (rootfs string, cfg ImageConfig, err error)
	Release(ctx context.Context, containerID string) error
}

// Balancer spreads a service's published ports across its ready replicas. SetEndpoints replaces
// the whole set atomically; the supervisor calls it before stopping a replica and after one
// became ready. service is "<project>/<service>". Draining replicas get no new connection but
// keep the ones they have; a replica in neither list loses its flows too (it is dead or sick).
// It returns the service's virtual IP, stable for the service's life, where its name resolves
// (invalid: the balancer gives none).
type Balancer interface {
	SetEndpoints(ctx context.Context, service string, ports []Port, ready, draining []netip.Addr) (vip netip.Addr, err error)
	Remove(ctx context.Context, service string) error
}

// Hosts keeps the service names of a replica's project in its /etc/hosts: lines are
// "ADDR\tNAME..." entries replacing the ones written before.
type Hosts interface {
	SetHosts(containerID string, lines []string) error
}

// Networks makes sure a project's network exists, and removes it at `down`.
type Networks interface {
	Ensure(ctx context.Context, name string) error
	Remove(ctx context.Context, name string) error
}

// Meter reads a container's CPU time so far (its cgroup's counter), for autoscaling. The
// Runtime may implement it; when it does not, autoscaling has nothing to read and holds.
type Meter interface {
	CPUTime(id string) (time.Duration, error)
}

// Clock is time, injected so backoff and health are tested without sleeping.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// NopBalancer publishes nothing: until hull's nftables balancer lands (issue 7), replicas are
// reachable at their own addresses only.
type NopBalancer struct{}

func (NopBalancer) SetEndpoints(context.Context, string, []Port, []netip.Addr, []netip.Addr) (netip.Addr, error) {
	return netip.Addr{}, nil
}
func (NopBalancer) Remove(context.Context, string) error { return nil }

// NopNetworks leaves networks alone: replicas then need x-hull network: none.
type NopNetworks struct{}

func (NopNetworks) Ensure(context.Context, string) error { return nil }
func (NopNetworks) Remove(context.Context, string) error { return nil }
