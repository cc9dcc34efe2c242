package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// hostProbe checks a replica from the host, at its own address: cheaper than a command in the
// container (no process is made), and it tests what clients use, the network path.
func hostProbe(ctx context.Context, addr string, hc HealthCheck) (bool, string) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false, "the replica has no address"
	}
	target := net.JoinHostPort(a.String(), strconv.Itoa(int(hc.Port)))
	switch hc.Kind {
	case ProbeTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", target)
		if err != nil {
			return false, err.Error()
		}
		c.Close()
		return true, "connected to " + target
	case ProbeHTTP:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+hc.Path, nil)
		if err != nil {
			return false, err.Error()
		}
		// No keep-alive: a probe must not hold a connection to the replica between checks.
		tr := &http.Transport{DisableKeepAlives: true, Proxy: nil}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		ok := resp.StatusCode >= 200 && resp.StatusCode < 400
		return ok, fmt.Sprintf("GET %s: %s", hc.Path, resp.Status)
	}
	return false, fmt.Sprintf("unknown probe %q", hc.Kind)
}

// probeLoop checks a replica's health every interval until it ends.
func (s *Supervisor) probeLoop(ctx context.Context, k string, r *Replica, hc HealthCheck) {
	for {
		tick := make(chan struct{})
		cancel := s.clk.AfterFunc(hc.Interval, func() { close(tick) })
		select {
		case <-ctx.Done():
			cancel()
			return
		case <-r.done:
			cancel()
			return
		case <-tick:
		}
		pctx, done := context.WithTimeout(ctx, hc.Timeout)
		ok, out := s.probe(pctx, r, hc)
		done()
		s.mu.Lock()
		if r.State != Running {
			s.mu.Unlock()
			return
		}
		next := r.Health.Next(ok, out, s.clk.Now(), r.Started, &hc)
		if next.Status == HealthUnhealthy && r.Health.Status != HealthUnhealthy {
			// As for an exit: out of load balancing before the failure is recorded.
			s.mu.Unlock()
			s.leave(ctx, k, r)
			s.mu.Lock()
			if r.State != Running {
				s.mu.Unlock()
				return
			}
		}
		prev := r.Health.Status
		r.Health = next
		if r.Health.Status != prev {
			s.persistReplicaLocked(r)
			reason := ""
			if r.Health.Status == HealthUnhealthy {
				reason = fmt.Sprintf("%d failed checks; last: %s", r.Health.Failures, r.Health.Output)
			}
			s.emit(Event{Type: string(r.Health.Status), Project: r.Project, Service: r.Service, Replica: r.ID, Reason: reason})
			s.enqueueProjectLocked(r.Project)
		}
		s.mu.Unlock()
	}
}

// probe runs one check: the compose command in the container, or an x-hull probe from the host.
func (s *Supervisor) probe(ctx context.Context, r *Replica, hc HealthCheck) (bool, string) {
	switch hc.Kind {
	case ProbeExec:
		code, out, err := s.cfg.Runtime.Exec(ctx, r.ID, hc.Command)
		out = strings.TrimSpace(out)
		if ctx.Err() != nil {
			return false, "timed out after " + hc.Timeout.String()
		}
		if err != nil {
			return false, err.Error()
		}
		if code != 0 {
			return false, fmt.Sprintf("exit code %d: %s", code, out)
		}
		return true, out
	default:
		return hostProbe(ctx, r.Address, hc)
	}
}
