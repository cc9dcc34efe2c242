package supervisor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
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
