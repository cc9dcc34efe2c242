//go:build !hulllean

package main

import (
	"bytes"
	"testing"

	"github.com/hullrt/hull/rootfs/image"
)

// Off a terminal, a layer prints a line when it starts, finishes or fails, never per chunk.
func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false)
	l := "sha256:0123456789abcdef0123"
	for _, ev := range []image.Progress{
		{Layer: l, Status: "waiting", Total: 2000},
		{Layer: l, Status: "downloading", Current: 100, Total: 2000},
		{Layer: l, Status: "downloading", Current: 900, Total: 2000},
		{Layer: l, Status: "done", Current: 2000, Total: 2000},
		{Layer: "sha256:ffffffffffffffff", Status: "exists"},
	} {
		p.update(ev)
	}
	want := "0123456789ab: downloading 100B/2.0kB\n0123456789ab: done 2.0kB/2.0kB\nffffffffffff: exists\n"
	if buf.String() != want {
		t.Fatalf("got %q\nwant %q", buf.String(), want)
	}
	buf.Reset()
	q := newProgress(&buf, true)
	q.update(image.Progress{Layer: l, Status: "done"})
	if buf.Len() != 0 {
		t.Fatalf("--quiet printed %q", buf.String())
	}
}

func TestProgressBar(t *testing.T) {
	if got := bar(image.Progress{Status: "downloading", Current: 50, Total: 100}); got != "[===============               ] " {
		t.Fatalf("bar %q", got)
	}
}
