package supervisor

import "time"

// HealthStatus is Docker's vocabulary: none (no check), starting, healthy, unhealthy.
type HealthStatus string

const (
	HealthNone      HealthStatus = "none"
	HealthStarting  HealthStatus = "starting"
	HealthHealthy   HealthStatus = "healthy"
	HealthUnhealthy HealthStatus = "unhealthy"
)

// Health is one replica's health as its probes left it.
type Health struct {
	Status   HealthStatus `json:"status"`
	Failures int          `json:"failures,omitempty"` // consecutive
	Since    time.Time    `json:"since,omitzero"`     // when Status last changed
	Output   string       `json:"output,omitempty"`   // the last probe's output or error
}

// Next is the state machine: a success makes the replica healthy; a failure inside the start
// period does not count (a slow starter is not punished) unless the replica was healthy already;
// after Retries consecutive counted failures it is unhealthy, and hull replaces it.
//
//	starting ──ok──▶ healthy ──fail×retries──▶ unhealthy
//	    └───fail×retries (after start_period)───▲   (unhealthy is final: the replica is replaced)
func (h Health) Next(ok bool, output string, now, started time.Time, hc *HealthCheck) Health {
	n := h
	n.Output = output
	if h.Status == HealthUnhealthy {
		return n
	}
	if ok {
		n.Failures = 0
		if h.Status != HealthHealthy {
			n.Status, n.Since = HealthHealthy, now
		}
		return n
	}
	if h.Status != HealthHealthy && now.Sub(started) < hc.StartPeriod {
		return n
	}
	n.Failures++
	if n.Failures >= hc.Retries {
		n.Status, n.Since = HealthUnhealthy, now
	}
	return n
}
