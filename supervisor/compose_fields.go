package supervisor

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// The compose fields one by one: ports, volumes, restart policy, healthcheck, resources and
// update_config, each turned into hull's model by a function of its own (compose.go walks
// the services and calls them).

func convertPort(cp types.ServicePortConfig) (Port, error) {
	p := Port{Target: uint16(cp.Target), Protocol: cmpOr(cp.Protocol, "tcp"), HostIP: cp.HostIP}
	if cp.Target == 0 || cp.Target > 65535 {
		return p, fmt.Errorf("target port %d is out of range", cp.Target)
	}
	if p.Protocol != "tcp" && p.Protocol != "udp" {
		return p, fmt.Errorf("protocol %q is not supported (tcp or udp)", p.Protocol)
	}
	if cp.Mode == "host" {
		return p, errors.New(`mode "host" is not supported: published ports are balanced across replicas (ingress)`)
	}
	if cp.Published == "" {
		return p, fmt.Errorf("port %d: a published port is needed (hull does not pick random ones)", cp.Target)
	}
	if strings.Contains(cp.Published, "-") {
		return p, fmt.Errorf("published range %q is not supported", cp.Published)
	}
	n, err := strconv.ParseUint(cp.Published, 10, 16)
	if err != nil || n == 0 {
		return p, fmt.Errorf("published port %q is not a port", cp.Published)
	}
	p.Published = uint16(n)
	return p, nil
}

func convertVolume(project string, v types.ServiceVolumeConfig, volumesDir string) (Mount, error) {
	m := Mount{Type: v.Type, Target: v.Target, ReadOnly: v.ReadOnly}
	if !filepath.IsAbs(v.Target) {
		return m, fmt.Errorf("target %q is not an absolute path", v.Target)
	}
	switch v.Type {
	case types.VolumeTypeBind:
		if !filepath.IsAbs(v.Source) {
			return m, fmt.Errorf("bind source %q is not an absolute path", v.Source)
		}
		m.Source = v.Source
	case types.VolumeTypeVolume:
		if v.Source == "" {
			return m, fmt.Errorf("anonymous volume at %s: name it (top-level volumes:)", v.Target)
		}
		if !validName(v.Source) {
			return m, fmt.Errorf("volume name %q: use letters, digits, '_' and '-'", v.Source)
		}
		if volumesDir == "" {
			volumesDir = "/var/lib/hull/volumes"
		}
		m.Source = filepath.Join(volumesDir, project+"_"+v.Source)
	case types.VolumeTypeTmpfs:
		if v.Tmpfs != nil {
			m.Size = int64(v.Tmpfs.Size)
		}
	default:
		return m, fmt.Errorf("type %q is not supported (bind, volume, tmpfs)", v.Type)
	}
	return m, nil
}

func convertRestart(s *Service, cs types.ServiceConfig) error {
	switch r := cs.Restart; {
	case r == "" || r == "no":
	case r == "always", r == "unless-stopped":
		s.Restart.Mode = RestartMode(r)
	case r == "on-failure" || strings.HasPrefix(r, "on-failure:"):
		s.Restart.Mode = RestartOnFailure
		if n, ok := strings.CutPrefix(r, "on-failure:"); ok {
			v, err := strconv.Atoi(n)
			if err != nil || v < 0 {
				return fmt.Errorf("restart: %q: the count is not a number", r)
			}
			s.Restart.MaxAttempts = v
		}
	default:
		return fmt.Errorf("restart: %q is not one of no, always, on-failure[:N], unless-stopped", r)
	}
	if cs.Deploy == nil || cs.Deploy.RestartPolicy == nil {
		return nil
	}
	rp := cs.Deploy.RestartPolicy
	switch rp.Condition {
	case "none":
		s.Restart.Mode = RestartNo
	case "on-failure":
		s.Restart.Mode = RestartOnFailure
	case "any", "":
		s.Restart.Mode = RestartAlways
	default:
		return fmt.Errorf("deploy.restart_policy.condition: %q is not one of none, on-failure, any", rp.Condition)
	}
	if rp.Delay != nil {
		s.Backoff.Initial = time.Duration(*rp.Delay) // Swarm's delay between attempts starts the backoff
	}
	if rp.MaxAttempts != nil {
		s.Restart.MaxAttempts = int(*rp.MaxAttempts)
	}
	if rp.Window != nil {
		s.Restart.Window = time.Duration(*rp.Window)
	}
	return nil
}

// Docker's healthcheck defaults: 30 s interval, 30 s timeout, 3 retries, no start period.
func convertHealth(hc *types.HealthCheckConfig) (*HealthCheck, error) {
	h := &HealthCheck{Kind: ProbeExec, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3}
	if hc.Interval != nil {
		h.Interval = time.Duration(*hc.Interval)
	}
	if hc.Timeout != nil {
		h.Timeout = time.Duration(*hc.Timeout)
	}
	if hc.Retries != nil {
		h.Retries = int(*hc.Retries)
	}
	if hc.StartPeriod != nil {
		h.StartPeriod = time.Duration(*hc.StartPeriod)
	}
	t := hc.Test
	switch {
	case len(t) == 0:
		return nil, errors.New("test: missing")
	case t[0] == "NONE":
		return nil, nil
	case t[0] == "CMD" && len(t) > 1:
		h.Command = t[1:]
	case t[0] == "CMD-SHELL" && len(t) == 2:
		h.Command = []string{"/bin/sh", "-c", t[1]}
	default:
		return nil, fmt.Errorf("test: %q: start with CMD, CMD-SHELL or NONE", t)
	}
	return h, checkHealth(h)
}

func checkHealth(h *HealthCheck) error {
	if h.Interval <= 0 || h.Timeout <= 0 {
		return errors.New("interval and timeout must be positive")
	}
	if h.Retries < 1 {
		h.Retries = 1
	}
	return nil
}

func convertResources(s *Service, r types.Resources) {
	if l := r.Limits; l != nil {
		s.Resources.CPUs, s.Resources.Memory, s.Resources.Pids = float64(l.NanoCPUs), int64(l.MemoryBytes), l.Pids
	}
	if rv := r.Reservations; rv != nil {
		s.Resources.ReserveCPUs, s.Resources.ReserveMemory = float64(rv.NanoCPUs), int64(rv.MemoryBytes)
	}
}

func convertUpdate(u *types.UpdateConfig) *UpdateConfig {
	if u == nil {
		return nil
	}
	c := &UpdateConfig{Parallelism: 1, Delay: time.Duration(u.Delay), FailureAction: u.FailureAction,
		Monitor: time.Duration(u.Monitor), MaxFailureRatio: float64(u.MaxFailureRatio), Order: u.Order}
	if u.Parallelism != nil {
		c.Parallelism = int(*u.Parallelism)
	}
	return c
}

// parseBytes reads Docker's sizes: 10m, 512k, 1g, 1gb, or plain bytes.
func parseBytes(v string) (int64, error) {
	v = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), "b")
	mult := int64(1)
	if n := len(v); n > 0 {
		switch v[n-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			v = v[:n-1]
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}
