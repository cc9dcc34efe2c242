package supervisor

import (
	"math"
	"time"
)

// Delay is how long to wait before restart attempt n (1 is the first restart): Initial·Factor^(n-1)
// capped at Max, then spread by ±Jitter using r, a uniform number in [0, 1) (injected, so tests
// see exact values). Jitter keeps replicas that crashed together from restarting in lockstep.
func (b Backoff) Delay(n int, r float64) time.Duration {
	if n < 1 || b.Initial <= 0 {
		return 0
	}
	d := float64(b.Initial) * math.Pow(math.Max(b.Factor, 1), float64(n-1))
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	d *= 1 + b.Jitter*(2*r-1)
	return time.Duration(d)
}
