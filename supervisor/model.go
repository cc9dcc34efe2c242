package supervisor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Project is a compose file as hull understands it: the desired state of a set of services. It is
// what the CLI sends to the daemon and what the store keeps, so every path in it is absolute.
type Project struct {
	Name     string              `json:"name"`
	Dir      string              `json:"dir"` // the compose file's directory
	Services map[string]*Service `json:"services"`
}

// Service is one compose service, normalised: defaults applied, durations parsed.
type Service struct {
	Name       string            `json:"name"`
	Image      string            `json:"image"`
	Entrypoint []string          `json:"entrypoint,omitempty"` // nil: the image's
	Command    []string          `json:"command,omitempty"`    // nil: the image's
	Env        map[string]string `json:"env,omitempty"`
	WorkingDir string            `json:"workingDir,omitempty"`
	User       string            `json:"user,omitempty"`
	Hostname   string            `json:"hostname,omitempty"`
	Ports      []Port            `json:"ports,omitempty"`
	Mounts     []Mount           `json:"mounts,omitempty"`
	ReadOnly   bool              `json:"readOnly,omitempty"`
	CapAdd     []string          `json:"capAdd,omitempty"`
	CapDrop    []string          `json:"capDrop,omitempty"`
	StopSignal string            `json:"stopSignal"`
	StopGrace  time.Duration     `json:"stopGrace"`
	// Drain is how long a replica being stopped keeps its open connections, out of load
	// balancing, before stop_signal: what was in flight when it left finishes.
	Drain     time.Duration     `json:"drain,omitempty"`
	Replicas  int               `json:"replicas"`
	Restart   RestartPolicy     `json:"restart"`
	Backoff   Backoff           `json:"backoff"`
	Health    *HealthCheck      `json:"health,omitempty"`
	DependsOn map[string]string `json:"dependsOn,omitempty"` // service → condition (service_started, service_healthy)
	Resources Resources         `json:"resources"`
	Logging   Logging           `json:"logging"`
	Network   bool              `json:"network"` // join the project's network (x-hull network: none turns it off)
	// CPUPlacement pins replicas to CPUs with cpusets: spread or binpack (x-hull placement);
	// "": no cpuset, the replicas run on any CPU.
	CPUPlacement string `json:"cpuPlacement,omitempty"`
	// Autoscale sets Replicas from CPU usage (x-hull autoscale; autoscale.go); nil: fixed.
	Autoscale *Autoscale `json:"autoscale,omitempty"`
	// Kept for rolling updates, rollback and placement (issue 7); not acted on yet.
	Update    *UpdateConfig `json:"update,omitempty"`
	Rollback  *UpdateConfig `json:"rollback,omitempty"`
	Placement *Placement    `json:"placement,omitempty"`
}

// Port is one published port: Published on the host, Target in each replica.
type Port struct {
	Published uint16 `json:"published"`
	Target    uint16 `json:"target"`
	Protocol  string `json:"protocol"` // tcp or udp
	HostIP    string `json:"hostIP,omitempty"`
}

// Mount is a bind, a named volume (Source is then the volume's host directory) or a tmpfs.
type Mount struct {
	Type     string `json:"type"` // bind, volume, tmpfs
	Source   string `json:"source,omitempty"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly,omitempty"`
	Size     int64  `json:"size,omitempty"` // tmpfs bytes, 0: the kernel's default
}

// RestartMode is compose's restart: no, always, on-failure, unless-stopped.
type RestartMode string

const (
	RestartNo            RestartMode = "no"
	RestartAlways        RestartMode = "always"
	RestartOnFailure     RestartMode = "on-failure"
	RestartUnlessStopped RestartMode = "unless-stopped"
)

// RestartPolicy says when a replica that ended is replaced, and when to give up.
type RestartPolicy struct {
	Mode        RestartMode   `json:"mode"`
	MaxAttempts int           `json:"maxAttempts,omitempty"` // 0: never give up
	Window      time.Duration `json:"window,omitempty"`      // attempts counted in this sliding window; 0: since the last reset
}

// Backoff is the delay before restart attempt n: Initial·Factor^(n-1), capped at Max, ±Jitter.
// A replica that ran (healthy) for ResetAfter starts again from attempt 1.
type Backoff struct {
	Initial    time.Duration `json:"initial"`
	Max        time.Duration `json:"max"`
	Factor     float64       `json:"factor"`
	Jitter     float64       `json:"jitter"` // 0.1 = ±10 %
	ResetAfter time.Duration `json:"resetAfter"`
}

// DefaultBackoff is issue 6's: 100 ms doubling to 30 s, ±10 %, reset after 10 s of healthy running
// (Docker's start and reset; a cap between Docker's 1 min and systemd's quick retries).
var DefaultBackoff = Backoff{Initial: 100 * time.Millisecond, Max: 30 * time.Second, Factor: 2, Jitter: 0.1, ResetAfter: 10 * time.Second}

// ProbeKind is how health is checked: a command in the container, or from the host.
type ProbeKind string

const (
	ProbeExec ProbeKind = "exec" // compose healthcheck: runs inside the replica
	ProbeHTTP ProbeKind = "http" // x-hull: GET from the host, 2xx/3xx is healthy
	ProbeTCP  ProbeKind = "tcp"  // x-hull: a TCP connect from the host
)

// HealthCheck is a compose healthcheck or an x-hull probe.
type HealthCheck struct {
	Kind        ProbeKind     `json:"kind"`
	Command     []string      `json:"command,omitempty"` // exec: argv (CMD-SHELL becomes sh -c)
	Port        uint16        `json:"port,omitempty"`    // http, tcp
	Path        string        `json:"path,omitempty"`    // http
	Interval    time.Duration `json:"interval"`
	Timeout     time.Duration `json:"timeout"`
	Retries     int           `json:"retries"`
	StartPeriod time.Duration `json:"startPeriod"`
}

// Resources are deploy.resources: limits are enforced by cgroups; reservations are kept for
// admission (issue 7) and set as the memory soft limit.
type Resources struct {
	CPUs          float64 `json:"cpus,omitempty"`
	Memory        int64   `json:"memory,omitempty"`
	Pids          int64   `json:"pids,omitempty"`
	ReserveCPUs   float64 `json:"reserveCpus,omitempty"`
	ReserveMemory int64   `json:"reserveMemory,omitempty"`
}

// Logging is the rotation of each replica's log file.
type Logging struct {
	MaxSize  int64 `json:"maxSize"`
	MaxFiles int   `json:"maxFiles"`
}

// DefaultDrain is the drain of a service with published ports: new connections stop at once,
// and a second is plenty for what a client had sent before (an accept queue, a request).
const DefaultDrain = time.Second

// DefaultLogging is 10 MB × 5, as issue 6 asks.
var DefaultLogging = Logging{MaxSize: 10 << 20, MaxFiles: 5}

// UpdateConfig is deploy.update_config / rollback_config.
type UpdateConfig struct {
	Parallelism     int           `json:"parallelism"`
	Delay           time.Duration `json:"delay,omitempty"`
	FailureAction   string        `json:"failureAction,omitempty"`
	Monitor         time.Duration `json:"monitor,omitempty"`
	MaxFailureRatio float64       `json:"maxFailureRatio,omitempty"`
	Order           string        `json:"order,omitempty"`
}

// Placement is deploy.placement.
type Placement struct {
	Constraints        []string `json:"constraints,omitempty"`
	Preferences        []string `json:"preferences,omitempty"` // spread expressions
	MaxReplicasPerNode int      `json:"maxReplicasPerNode,omitempty"`
}

// Revision is a digest of everything that shapes a replica's container. A replica whose
// revision differs from its service's is replaced; replicas, ports, restart and health settings are
// left out, as changing them needs no new container.
func (s *Service) Revision() string {
	c := *s
	c.Replicas, c.Restart, c.Backoff, c.Health, c.DependsOn, c.Logging = 0, RestartPolicy{}, Backoff{}, nil, nil, Logging{}
	c.Update, c.Rollback, c.Placement, c.Ports, c.Drain, c.Autoscale = nil, nil, nil, nil, 0, nil
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}
