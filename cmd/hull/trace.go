package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hullrt/hull/runtime"
)

// newTracer wires --explain (narration on stderr) and --trace json (JSON lines on stderr, or in
// --trace-file). The returned closer is nil when no file was opened.
func newTracer(g globals, stderr io.Writer) (runtime.Tracer, io.Closer, error) {
	var ts []runtime.Tracer
	var closer io.Closer
	if g.explain {
		ts = append(ts, runtime.Explainer(stderr))
	}
	switch g.trace {
	case "":
		if g.traceFile != "" {
			return nil, nil, usageError{"--trace-file needs --trace json"}
		}
	case "json":
		w := stderr
		if g.traceFile != "" {
			f, err := os.OpenFile(g.traceFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				return nil, nil, fmt.Errorf("open trace file: %w", err)
			}
			w, closer = f, f
		}
		ts = append(ts, runtime.JSONTracer(w))
	default:
		return nil, nil, usageError{fmt.Sprintf("unknown --trace %q (want json)", g.trace)}
	}
	switch len(ts) {
	case 0:
		return nil, closer, nil
	case 1:
		return ts[0], closer, nil
	}
	return runtime.Tracers(ts...), closer, nil
}
