// Command report turns the JSON lines the bench scripts append to $BENCH_OUT into
// docs/benchmarks.md: one table per area with medians, ranges and hull's ratio to each peer, the
// machine it ran on, and an SVG chart for the areas that have peers to compare with.
//
//	go run ./test/bench/report -out docs/benchmarks.md round-1.jsonl round-2.jsonl ...
//
// Each input file is one round.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// chartAreas are drawn: the lifecycle and load-balancing comparisons, plus the others when present.
var chartAreas = []string{"runtime", "network", "images", "lb"}

func main() {
	out := flag.String("out", "docs/benchmarks.md", "markdown file to write; charts go beside it")
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(out string, inputs []string) error {
	if len(inputs) == 0 {
		return fmt.Errorf("no result files given")
	}
	var ms []measurement
	for i, in := range inputs {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		got, err := readSamples(f, i)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		ms = append(ms, got...)
	}
	if len(ms) == 0 {
		return fmt.Errorf("no samples in %v", inputs)
	}
	rs := group(ms)
	_, by := byArea(rs)
	charts := map[string]string{}
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, a := range chartAreas {
		if len(by[a]) == 0 {
			continue
		}
		name := "benchmarks-" + a + ".svg"
		var b bytes.Buffer
		writeSVG(&b, a, by[a])
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			return err
		}
		charts[a] = name
	}
	var b bytes.Buffer
	writeMarkdown(&b, rs, thisMachine(len(inputs)), charts)
	return os.WriteFile(out, b.Bytes(), 0o644)
}
