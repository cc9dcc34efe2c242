// Command lbload is the load client of test/bench/lb.sh: C workers send HTTP GETs to one
// address for a while, at a paced total rate, and every failed request is timestamped against
// an event — a replica SIGKILLed by lbload itself (-kill PID -kill-at 1s), so the event time is
// the kill(2) call and not a guess. wrk cannot do this: it counts errors but not when.
//
//	lbload -addr 10.0.0.1:8080 [-mode keepalive|close] [-c 32] [-rate 10000] [-d 3s]
//	       [-kill PID -kill-at 1s]
//
// -d 0 runs until SIGTERM or SIGINT (lb.sh's rolling update: it stops the load when the rollout
// is done). One JSON object goes to stdout at the end (see report). Run it inside the network
// namespace of the address (nsenter --net=...).
//
// A failure is a request that got no "200" answer within -timeout: refused, reset, timed out,
// or a bad status. It is placed by its start time: "in flight" if it started before the event
// and ended after it, else by how long after the event it started. There is no retry — an HTTP
// client library would retry an idempotent request whose reused keepalive connection died
// before any answer, and so hide exactly what is measured here.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	addr    = flag.String("addr", "", "host:port to load")
	mode    = flag.String("mode", "keepalive", "keepalive (one connection per worker, renewed after a failure) or close (a new connection per request)")
	conns   = flag.Int("c", 32, "concurrent workers")
	rate    = flag.Float64("rate", 10000, "total requests/s (0: as fast as the workers go)")
	dur     = flag.Duration("d", 3*time.Second, "how long to run (0: until SIGTERM/SIGINT)")
	timeout = flag.Duration("timeout", time.Second, "per request (connect + answer)")
	killPID = flag.Int("kill", 0, "SIGKILL this PID at -kill-at: the event failures are timed against")
	killAt  = flag.Duration("kill-at", time.Second, "when to kill -kill, from the start")
)

// result is one request: its start and end as offsets from the run's start, and its error.
type result struct {
	start, end time.Duration
	err        string
}

func main() {
	flag.Parse()
	if *addr == "" || (*mode != "keepalive" && *mode != "close") || *conns < 1 {
		fmt.Fprintln(os.Stderr, "lbload: need -addr, -mode keepalive|close and -c ≥ 1")
		os.Exit(2)
	}
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	t0 := time.Now()
	var event atomic.Int64 // offset of the event from t0, +1 (0: none yet)
	var slot atomic.Int64  // the pacing schedule: request k is due at t0 + k/rate
	per := make([][]result, *conns)
	var wg sync.WaitGroup
	for i := range per {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i] = work(t0, stop, &slot)
		}()
	}
	var killErr error
	go func() {
		if *killPID == 0 {
			return
		}
		time.Sleep(time.Until(t0.Add(*killAt)))
		at := time.Since(t0)
		if killErr = syscall.Kill(*killPID, syscall.SIGKILL); killErr == nil {
			event.Store(int64(at) + 1)
		}
	}()
	var timer <-chan time.Time
	if *dur > 0 {
		timer = time.After(*dur)
	}
	select {
	case <-timer:
	case <-sigs:
	}
	close(stop)
	wg.Wait()
	elapsed := time.Since(t0)
	if killErr != nil {
		fmt.Fprintf(os.Stderr, "lbload: kill %d: %v\n", *killPID, killErr)
		os.Exit(1)
	}
	var all []result
	for _, rs := range per {
		all = append(all, rs...)
	}
	ev := time.Duration(event.Load() - 1)
	rep := report(all, elapsed, ev, event.Load() != 0)
	rep.Start = t0
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		fmt.Fprintln(os.Stderr, "lbload:", err)
		os.Exit(1)
	}
}

// work sends requests until stop, each at its slot in the shared schedule.
func work(t0 time.Time, stop <-chan struct{}, slot *atomic.Int64) []result {
	var out []result
	var c *conn
	for {
		if *rate > 0 {
			due := t0.Add(time.Duration(float64(slot.Add(1)-1) / *rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-stop:
					return out
				case <-time.After(d):
				}
			}
		}
		select {
		case <-stop:
			if c != nil {
				c.Close()
			}
			return out
		default:
		}
		r := result{start: time.Since(t0)}
		var err error
		c, err = get(c)
		r.end = time.Since(t0)
		if err != nil {
			r.err = short(err)
		}
		out = append(out, r)
	}
}

type conn struct {
	net.Conn
	br *bufio.Reader
}

// get sends one GET on c (dialling when c is nil) and reads the answer; it returns the
// connection to reuse (nil after a failure or in close mode).
func get(c *conn) (*conn, error) {
	deadline := time.Now().Add(*timeout)
	if c == nil {
		nc, err := net.DialTimeout("tcp", *addr, *timeout)
		if err != nil {
			return nil, err
		}
		c = &conn{Conn: nc, br: bufio.NewReader(nc)}
	}
	req := "GET / HTTP/1.1\r\nHost: lb\r\n\r\n"
	if *mode == "close" {
		req = "GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n"
	}
	err := c.SetDeadline(deadline)
	if err == nil {
		_, err = io.WriteString(c, req)
	}
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(c.br, nil)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
	}
	if err != nil || *mode == "close" || resp.Close {
		c.Close()
		return nil, err
	}
	return c, nil
}

// short names an error by its cause, without addresses, so equal failures count together.
func short(err error) string {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno):
		return errno.Error()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed before an answer"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// Report is lbload's output. Failure counts around the event are by request start time.
type Report struct {
	Start    time.Time      `json:"start"` // t0 of the offsets
	Mode     string         `json:"mode"`
	Workers  int            `json:"workers"`
	Rate     float64        `json:"target_rate"`
	Seconds  float64        `json:"seconds"`
	Requests int            `json:"requests"`
	Failed   int            `json:"failed"`
	RPS      float64        `json:"rps"`
	Errors   map[string]int `json:"errors"`
	// FailuresAtMS: start offsets (ms from the run's start) of the first 20 failures.
	FailuresAtMS []int64 `json:"failures_at_ms,omitempty"`
	// With an event (the kill):
	EventSec       *float64 `json:"event_s,omitempty"`
	RPSAfterEvent  float64  `json:"rps_first_second,omitempty"` // requests started in [event, +1 s) per second
	FailedBefore   int      `json:"failed_before"`              // failed and ended before the event
	FailedInFlight int      `json:"failed_in_flight"`           // started before the event, ended after
	FailedBy100ms  int      `json:"failed_started_by_100ms"`    // started in [event, +100 ms]
	FailedTo1s     int      `json:"failed_started_100ms_to_1s"` // started in (+100 ms, +1 s)
	FailedLater    int      `json:"failed_started_after_1s"`    // started at +1 s or later
	LateFailuresMS []int64  `json:"late_failures_ms,omitempty"` // start offsets (ms from the event) of the first 20 after +100 ms
	LastFailureSec *float64 `json:"last_failure_after_event_s,omitempty"`
}

func report(all []result, elapsed, ev time.Duration, hasEvent bool) Report {
	sort.Slice(all, func(i, j int) bool { return all[i].start < all[j].start })
	r := Report{Mode: *mode, Workers: *conns, Rate: *rate, Seconds: elapsed.Seconds(), Requests: len(all),
		RPS: float64(len(all)) / elapsed.Seconds(), Errors: map[string]int{}}
	var firstSecond int
	for _, x := range all {
		if hasEvent && x.start >= ev && x.start < ev+time.Second {
			firstSecond++
		}
		if x.err == "" {
			continue
		}
		r.Failed++
		r.Errors[x.err]++
		if len(r.FailuresAtMS) < 20 {
			r.FailuresAtMS = append(r.FailuresAtMS, x.start.Milliseconds())
		}
		if !hasEvent {
			continue
		}
		d := x.start - ev
		switch {
		case x.end < ev:
			r.FailedBefore++
		case d < 0:
			r.FailedInFlight++
		case d <= 100*time.Millisecond:
			r.FailedBy100ms++
		case d < time.Second:
			r.FailedTo1s++
		default:
			r.FailedLater++
		}
		if d > 100*time.Millisecond {
			if len(r.LateFailuresMS) < 20 {
				r.LateFailuresMS = append(r.LateFailuresMS, d.Milliseconds())
			}
			s := d.Seconds()
			r.LastFailureSec = &s
		}
	}
	if hasEvent {
		s := ev.Seconds()
		r.EventSec = &s
		r.RPSAfterEvent = float64(firstSecond)
	}
	return r
}
