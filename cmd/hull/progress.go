//go:build !hulllean

package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/rootfs/image"
)

// progress draws one line per layer: on a terminal a bar redrawn in place, otherwise a plain
// line each time a layer starts, finishes or fails, so logs stay readable.
type progress struct {
	w      io.Writer
	tty    bool
	order  []string
	last   map[string]image.Progress
	drawn  int
	quiet  bool
	status map[string]string
}

func newProgress(w io.Writer, quiet bool) *progress {
	return &progress{w: w, tty: isTerminal(w), last: map[string]image.Progress{}, status: map[string]string{}, quiet: quiet}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// update is image.Options.Progress.
func (p *progress) update(ev image.Progress) {
	if p.quiet {
		return
	}
	if _, ok := p.last[ev.Layer]; !ok {
		p.order = append(p.order, ev.Layer)
	}
	p.last[ev.Layer] = ev
	if p.tty {
		p.redraw()
		return
	}
	if ev.Status == p.status[ev.Layer] || ev.Status == "waiting" {
		return
	}
	p.status[ev.Layer] = ev.Status
	fmt.Fprintf(p.w, "%s: %s%s\n", shortDigest(ev.Layer), ev.Status, sizeNote(ev))
}

func (p *progress) redraw() {
	if p.drawn > 0 {
		fmt.Fprintf(p.w, "\x1b[%dA", p.drawn)
	}
	for _, l := range p.order {
		ev := p.last[l]
		fmt.Fprintf(p.w, "\x1b[2K%s: %-11s %s%s\n", shortDigest(l), ev.Status, bar(ev), sizeNote(ev))
	}
	p.drawn = len(p.order)
}

func bar(ev image.Progress) string {
	const width = 30
	if ev.Total <= 0 || ev.Status == "exists" {
		return ""
	}
	n := int(min(ev.Current, ev.Total) * width / ev.Total)
	if ev.Status == "done" {
		n = width
	}
	return "[" + strings.Repeat("=", n) + strings.Repeat(" ", width-n) + "] "
}

func sizeNote(ev image.Progress) string {
	switch {
	case ev.Status == "exists" || ev.Status == "waiting":
		return ""
	case ev.Total > 0:
		return fmt.Sprintf(" %s/%s", humanSize(ev.Current), humanSize(ev.Total))
	case ev.Current > 0:
		return " " + humanSize(ev.Current)
	}
	return ""
}

func shortDigest(d string) string {
	d = strings.TrimPrefix(d, "sha256:")
	if len(d) > 12 {
		return d[:12]
	}
	return d
}

func humanSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fkB", float64(n)/1e3)
	}
	return fmt.Sprintf("%dB", n)
}
