package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/hullrt/hull/runtime/initproc"
)

// TraceEvent is one kernel step (or, from the supervisor, one decision) as --trace json prints it:
// one JSON object per line, in the order hull learned of them. docs/trace.md is the schema.
type TraceEvent struct {
	Seq    int       `json:"seq"`             // 1, 2, 3 ... in the order of the stream
	Time   time.Time `json:"time"`            // when hull recorded it (for "init" steps: when the line arrived)
	Source string    `json:"source"`          // who took the step: see the Source* constants
	Op     string    `json:"op"`              // the syscall or action: "clone", "mount", "cgroup.write", "netlink", ...
	Args   string    `json:"args"`            // its arguments, written like the shell command that does the same
	Result string    `json:"result"`          // "ok", "error", "planned" (not done yet, or never: --dry-run) or "skipped" (asked for, not done: the host lacks it)
	Error  string    `json:"error,omitempty"` // the error, when Result is "error"
	TookUS int64     `json:"took_us"`         // how long the step took, in microseconds (0 when planned)
	Shell  string    `json:"shell,omitempty"` // a shell command a learner could type to do the same by hand
	Why    string    `json:"why,omitempty"`   // one line on why hull takes this step
}

// Who takes a step.
const (
	SourceHull       = "hull"              // this process, on the host side
	SourceInit       = "init"              // the container's init (hull init), relayed over the sync socket
	SourceStub       = initproc.SourceStub // the C stub, once start (or exec) releases it; the init (or exec) records what it will apply
	SourcePlan       = "plan"              // --dry-run: what create would do
	SourceSupervisor = "supervisor"        // the supervisor's decisions (probes, backoff, membership, rollouts)
)

// Tracer receives every step in order. It is called from more than one goroutine; the
// implementations here serialise with a mutex.
type Tracer interface {
	Trace(TraceEvent)
}

// Step records one kernel step: it makes Runtime the Recorder of every leaf package.
func (r *Runtime) Step(op, args string, err error, took time.Duration) {
	r.record(SourceHull, op, args, err, took, "")
}

// step times fn and records it.
func (r *Runtime) step(op, args string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	r.Step(op, args, err, time.Since(t0))
	return err
}

// SourceRecorder is a Recorder whose steps carry a source other than "hull".
type SourceRecorder struct {
	r      *Runtime
	source string
}

// RecorderFor returns a Recorder whose steps appear in the same --debug, --explain and --trace
// stream under source. The supervisor records its decisions through
// rt.RecorderFor(runtime.SourceSupervisor), with ops such as "supervisor.restart"; every op needs
// an entry in the explain table (explain_test.go enforces it).
func (r *Runtime) RecorderFor(source string) SourceRecorder { return SourceRecorder{r, source} }

// Step records one step or decision.
func (s SourceRecorder) Step(op, args string, err error, took time.Duration) {
	s.r.record(s.source, op, args, err, took, "")
}

// relay records a step the init sent over the sync socket.
func (r *Runtime) relay(m initproc.Message) {
	src := m.Source
	if src == "" {
		src = SourceInit
	}
	var err error
	if m.Error != "" {
		err = errors.New(m.Error)
	}
	mark := ""
	switch {
	case m.Skipped:
		mark = resultSkipped
	case m.Planned:
		mark = resultPlanned
	}
	r.record(src, m.Op, m.Args, err, m.Took, mark)
}

// The results of a step not (yet) taken; "" is a step taken, "ok" or "error" by its err.
const (
	resultPlanned = "planned"
	resultSkipped = "skipped"
)

// recordPlanned records the stub's steps, which it takes once released, after hull stopped
// listening: planned, or skipped when the host cannot do them.
func (r *Runtime) recordPlanned(source string, steps []initproc.PlannedStep) {
	for _, st := range steps {
		mark := resultPlanned
		if st.Skipped {
			mark = resultSkipped
		}
		r.record(source, st.Op, st.Args, nil, 0, mark)
	}
}

// record writes one step to the debug log and to the tracer, if any. mark is "" for a step
// taken, or resultPlanned or resultSkipped.
func (r *Runtime) record(source, op, args string, err error, took time.Duration, mark string) {
	// Asked first: the attributes cost allocations on each of the ≈120 steps of a container.
	if r.Log != nil && r.Log.Enabled(context.Background(), slog.LevelDebug) {
		attrs := []any{"args", args, "took", took.Round(time.Microsecond)}
		if source != SourceHull {
			attrs = append(attrs, "by", source)
		}
		if err != nil {
			attrs = append(attrs, "err", err)
		}
		if mark != "" {
			attrs = append(attrs, "result", mark)
		}
		r.Log.Debug(op, attrs...)
	}
	if r.Trace == nil {
		return
	}
	e := TraceEvent{Time: time.Now(), Source: source, Op: op, Args: args, Result: "ok", TookUS: took.Microseconds()}
	switch {
	case err != nil:
		e.Result, e.Error = "error", err.Error()
	case mark != "":
		e.Result = mark
	}
	e.Shell, e.Why = Explain(op, args)
	if mark == resultSkipped {
		e.Shell = "" // nothing to type for a step not taken
	}
	r.Trace.Trace(e)
}

// narrating says whether anyone listens to steps: the init only sends them then.
func (r *Runtime) narrating(ctx context.Context) bool {
	return r.Trace != nil || (r.Log != nil && r.Log.Enabled(ctx, slog.LevelDebug))
}

// JSONTracer writes each event as one JSON line (--trace json).
func JSONTracer(w io.Writer) Tracer { return &jsonTracer{enc: json.NewEncoder(w)} }

type jsonTracer struct {
	mu  sync.Mutex
	seq int
	enc *json.Encoder
}

func (t *jsonTracer) Trace(e TraceEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	e.Seq = t.seq
	_ = t.enc.Encode(e) // tracing is best effort: a closed pipe must not fail the container
}

// Tracers sends every event to each of ts (--explain and --trace json together).
func Tracers(ts ...Tracer) Tracer { return multiTracer(ts) }

type multiTracer []Tracer

func (m multiTracer) Trace(e TraceEvent) {
	for _, t := range m {
		t.Trace(e)
	}
}
