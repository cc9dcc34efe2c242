package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// newLogger builds the logger every operation narrates to. Errors always reach stderr as one
// plain line; with --log they are also written there, as logrus-style JSON lines with
// --log-format json, because containerd's shim and podman read the last "msg" of that file.
func newLogger(g globals, stderr io.Writer) (*slog.Logger, *os.File, error) {
	level := slog.LevelInfo
	if g.debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: lowerLevel}
	if g.logFormat != "text" && g.logFormat != "json" && g.logFormat != "" {
		// runc refuses an unknown format even without --log.
		return nil, nil, fmt.Errorf("unknown --log-format %q (want text or json)", g.logFormat)
	}
	if g.log == "" {
		return slog.New(&stderrHandler{w: stderr, level: level}), nil, nil
	}
	f, err := os.OpenFile(g.log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	var h slog.Handler
	switch g.logFormat {
	case "json":
		h = slog.NewJSONHandler(f, opts)
	case "text", "":
		h = slog.NewTextHandler(f, opts)
	default:
		f.Close()
		return nil, nil, fmt.Errorf("unknown --log-format %q (want text or json)", g.logFormat)
	}
	return slog.New(teeErrors{h, &stderrHandler{w: stderr, level: slog.LevelError}}), f, nil
}

// lowerLevel writes "error" rather than slog's "ERROR", as logrus does.
func lowerLevel(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		return slog.String(slog.LevelKey, strings.ToLower(a.Value.String()))
	}
	return a
}

// teeErrors sends every record to the log file, and errors to stderr too.
type teeErrors struct{ file, stderr slog.Handler }

func (t teeErrors) Enabled(ctx context.Context, l slog.Level) bool { return t.file.Enabled(ctx, l) }
func (t teeErrors) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		_ = t.stderr.Handle(ctx, r)
	}
	return t.file.Handle(ctx, r)
}
func (t teeErrors) WithAttrs(a []slog.Attr) slog.Handler {
	return teeErrors{t.file.WithAttrs(a), t.stderr.WithAttrs(a)}
}
func (t teeErrors) WithGroup(n string) slog.Handler {
	return teeErrors{t.file.WithGroup(n), t.stderr.WithGroup(n)}
}

// stderrHandler prints records as short human lines: "hull: <msg>" for errors, and for the
// --debug narration "  <op> <args> (<took>)".
type stderrHandler struct {
	w     io.Writer
	level slog.Level
	attrs []slog.Attr
}

func (h *stderrHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *stderrHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	switch {
	case r.Level >= slog.LevelError:
		b.WriteString("hull: " + r.Message)
	case r.Level >= slog.LevelWarn:
		b.WriteString("hull: warning: " + r.Message)
	default:
		b.WriteString("  " + r.Message)
	}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "args":
			b.WriteString(" " + a.Value.String())
		case "took":
			b.WriteString(" (" + a.Value.String() + ")")
		default:
			b.WriteString(" " + a.Key + "=" + a.Value.String())
		}
		return true
	})
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}
func (h *stderrHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return &stderrHandler{w: h.w, level: h.level, attrs: append(h.attrs, a...)}
}
func (h *stderrHandler) WithGroup(string) slog.Handler { return h }
