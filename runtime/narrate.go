package runtime

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Explainer narrates each event for a person (--explain): who took the step, the result and
// how long it took, the shell command that does the same, and why. A reason is printed the first
// time it comes up only, so thirty cgroup writes read as one lesson and thirty commands.
func Explainer(w io.Writer) Tracer { return &explainer{w: w, told: map[string]bool{}} }

type explainer struct {
	mu   sync.Mutex
	w    io.Writer
	seq  int
	told map[string]bool
}

// whoSays names each source for a reader.
var whoSays = map[string]string{
	SourceHull:       "hull",
	SourceInit:       "container init",
	SourceStub:       "stub, once released",
	SourcePlan:       "plan",
	SourceSupervisor: "supervisor",
}

func (x *explainer) Trace(e TraceEvent) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.seq++
	var b strings.Builder
	who := whoSays[e.Source]
	if who == "" {
		who = e.Source
	}
	result := e.Result
	if e.Source == SourceStub && e.Result != resultPlanned && e.Result != resultSkipped {
		who = "stub" // a step it took already, waiting (the direct way: it reports no times)
	}
	switch {
	case e.Result == "ok" && who == "stub":
	case e.Result == "ok":
		result = "ok, " + (time.Duration(e.TookUS) * time.Microsecond).String()
	case e.Result == "error":
		result = "FAILED: " + e.Error
	}
	fmt.Fprintf(&b, "%3d %-8s %s  [%s; %s]\n", x.seq, e.Op, e.Args, who, result)
	if e.Shell != "" {
		fmt.Fprintf(&b, "      $ %s\n", e.Shell)
	}
	if e.Why != "" && !x.told[e.Why] {
		x.told[e.Why] = true
		fmt.Fprintf(&b, "      why: %s\n", e.Why)
	}
	_, _ = io.WriteString(x.w, b.String())
}
