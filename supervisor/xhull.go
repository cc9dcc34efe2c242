package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// xHull is the x-hull extension of a service: hull's own knobs, which compose has no words for.
//
//	x-hull:
//	  backoff: {initial: 100ms, max: 30s, factor: 2, jitter: 0.1, reset_after: 10s}
//	  probe: {type: http, port: 80, path: /healthz, interval: 5s, timeout: 1s, retries: 3, start_period: 0s}
//	  network: none        # replicas get a network namespace with loopback only
//	  drain: 1s            # a stopping replica's connections may finish (default 1s with ports)
//	  placement: spread    # pin each replica to CPUs with a cpuset: spread or binpack (cpuset.go)
//	  autoscale: {min: 1, max: 5, target_cpu: 70%, interval: 5s, window: 30s, up_window: 0s, cooldown: 0s}
type xHull struct {
	Placement *string `json:"placement"`
	Autoscale *struct {
		Min       int    `json:"min"`
		Max       int    `json:"max"`
		TargetCPU any    `json:"target_cpu"`
		Interval  string `json:"interval"`
		Window    string `json:"window"`
		UpWindow  string `json:"up_window"`
		Cooldown  string `json:"cooldown"`
	} `json:"autoscale"`
	Drain   *string `json:"drain"`
	Backoff *struct {
		Initial    *string  `json:"initial"`
		Max        *string  `json:"max"`
		Factor     *float64 `json:"factor"`
		Jitter     *float64 `json:"jitter"`
		ResetAfter *string  `json:"reset_after"`
	} `json:"backoff"`
	Probe *struct {
		Type        string `json:"type"`
		Port        uint16 `json:"port"`
		Path        string `json:"path"`
		Interval    string `json:"interval"`
		Timeout     string `json:"timeout"`
		Retries     int    `json:"retries"`
		StartPeriod string `json:"start_period"`
	} `json:"probe"`
	Network *string `json:"network"`
}

// applyXHull decodes the extension strictly: a misspelt knob is an error, not silently ignored.
func applyXHull(s *Service, raw any) error {
	b, err := json.Marshal(raw)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var x xHull
	if err := dec.Decode(&x); err != nil {
		return err
	}
	var errs []error
	dur := func(name string, v *string, dst *time.Duration) {
		if v == nil || *v == "" {
			return
		}
		d, err := time.ParseDuration(*v)
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration", name, *v))
			return
		}
		*dst = d
	}
	if b := x.Backoff; b != nil {
		dur("backoff.initial", b.Initial, &s.Backoff.Initial)
		dur("backoff.max", b.Max, &s.Backoff.Max)
		dur("backoff.reset_after", b.ResetAfter, &s.Backoff.ResetAfter)
		if b.Factor != nil {
			if *b.Factor < 1 {
				errs = append(errs, fmt.Errorf("backoff.factor: %v is below 1", *b.Factor))
			}
			s.Backoff.Factor = *b.Factor
		}
		if b.Jitter != nil {
			if *b.Jitter < 0 || *b.Jitter >= 1 {
				errs = append(errs, fmt.Errorf("backoff.jitter: %v is not in [0, 1)", *b.Jitter))
			}
			s.Backoff.Jitter = *b.Jitter
		}
		if s.Backoff.Max < s.Backoff.Initial {
			errs = append(errs, errors.New("backoff.max is below backoff.initial"))
		}
	}
	dur("drain", x.Drain, &s.Drain)
	if pl := x.Placement; pl != nil {
		switch *pl {
		case PlaceSpread, PlaceBinpack, "":
			s.CPUPlacement = *pl
		default:
			errs = append(errs, fmt.Errorf("placement: %q is not spread or binpack", *pl))
		}
	}
	if as := x.Autoscale; as != nil {
		a := &Autoscale{Min: max(as.Min, 1), Max: as.Max, Interval: 5 * time.Second, Window: 30 * time.Second}
		if as.Max < a.Min {
			errs = append(errs, fmt.Errorf("autoscale.max: %d is below min %d", as.Max, a.Min))
		}
		pct, err := parsePercent(as.TargetCPU)
		if err != nil {
			errs = append(errs, fmt.Errorf("autoscale.target_cpu: %w", err))
		}
		a.TargetCPU = pct
		dur("autoscale.interval", &as.Interval, &a.Interval)
		dur("autoscale.window", &as.Window, &a.Window)
		dur("autoscale.up_window", &as.UpWindow, &a.UpWindow)
		dur("autoscale.cooldown", &as.Cooldown, &a.Cooldown)
		if a.Interval < 100*time.Millisecond {
			errs = append(errs, fmt.Errorf("autoscale.interval: %s is below 100ms", a.Interval))
		}
		s.Autoscale = a
	}
	if p := x.Probe; p != nil {
		h := &HealthCheck{Kind: ProbeKind(p.Type), Port: p.Port, Path: p.Path, Retries: p.Retries,
			Interval: 5 * time.Second, Timeout: time.Second}
		switch h.Kind {
		case ProbeHTTP:
			if h.Path == "" {
				h.Path = "/"
			}
		case ProbeTCP:
		default:
			errs = append(errs, fmt.Errorf("probe.type: %q is not http or tcp", p.Type))
		}
		if h.Port == 0 {
			errs = append(errs, errors.New("probe.port: missing"))
		}
		dur("probe.interval", &p.Interval, &h.Interval)
		dur("probe.timeout", &p.Timeout, &h.Timeout)
		dur("probe.start_period", &p.StartPeriod, &h.StartPeriod)
		if h.Retries == 0 {
			h.Retries = 3
		}
		if err := checkHealth(h); err != nil {
			errs = append(errs, fmt.Errorf("probe: %w", err))
		}
		if s.Health != nil {
			errs = append(errs, errors.New("probe: the service has a healthcheck already; use one"))
		}
		s.Health = h
		if !s.Network && x.Network == nil {
			errs = append(errs, errors.New("probe: needs the network"))
		}
	}
	if n := x.Network; n != nil {
		switch *n {
		case "none":
			s.Network = false
			if s.Health != nil && s.Health.Kind != ProbeExec {
				errs = append(errs, errors.New("network: none leaves the host's probe nothing to reach"))
			}
		case "project", "":
		default:
			errs = append(errs, fmt.Errorf("network: %q is not none or project", *n))
		}
	}
	return errors.Join(errs...)
}

// parsePercent reads a CPU target: "70%", 70 or 0.7 (a number ≤ 1 is a fraction).
func parsePercent(v any) (float64, error) {
	var f float64
	switch v := v.(type) {
	case nil:
		return 0, errors.New("missing")
	case float64:
		f = v
		if f > 1 {
			f /= 100
		}
	case string:
		n, ok := strings.CutSuffix(strings.TrimSpace(v), "%")
		x, err := strconv.ParseFloat(n, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a percentage", v)
		}
		f = x
		if ok || f > 1 {
			f /= 100
		}
	default:
		return 0, fmt.Errorf("%v is not a percentage", v)
	}
	if f <= 0 || f > 10 || math.IsNaN(f) {
		return 0, fmt.Errorf("%v is not in (0%%, 1000%%]", v)
	}
	return f, nil
}
