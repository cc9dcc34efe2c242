package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuantile(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		q    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 0.5, 2},
		{[]float64{1, 2, 3, 4}, 0.5, 2.5},
		{[]float64{10}, 0.9, 10},
		{[]float64{0, 10}, 0.1, 1},
		{nil, 0.5, 0},
	} {
		if got := quantile(c.xs, c.q); got != c.want {
			t.Errorf("quantile(%v, %v) = %v, want %v", c.xs, c.q, got, c.want)
		}
	}
}

func TestReadSamplesRejectsIncomplete(t *testing.T) {
	for _, bad := range []string{`{"area":"runtime","case":"run","tool":"hull","samples":[]}`, `{"case":"run"}`, `not json`} {
		if _, err := readSamples(strings.NewReader(bad), 0); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// Two rounds of two tools: the table must carry the median over both rounds, each round's
// median and hull's ratio to crun.
func TestReport(t *testing.T) {
	dir := t.TempDir()
	r1 := `{"area":"runtime","case":"run","tool":"hull","unit":"ms","samples":[4,5,6]}
{"area":"runtime","case":"run","tool":"crun","unit":"ms","samples":[8,10,12]}
{"area":"lb","case":"keepalive","tool":"hull","unit":"req/s","samples":[900]}
`
	r2 := `{"area":"runtime","case":"run","tool":"hull","unit":"ms","samples":[5,5,5]}
{"area":"runtime","case":"run","tool":"crun","unit":"ms","samples":[10,10,10]}
`
	for i, s := range []string{r1, r2} {
		if err := os.WriteFile(filepath.Join(dir, "r"+string(rune('1'+i))), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "docs", "benchmarks.md")
	if err := run(out, []string{filepath.Join(dir, "r1"), filepath.Join(dir, "r2")}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| run | hull | 5.00 ms | ",
		"| run | crun | 10.0 ms | ",
		"| 6 | 0.50 |", // hull 5 ÷ crun 10 over 6 samples
		"2 round(s)",
		"![runtime](benchmarks-runtime.svg)",
		"## Load balancing",
	} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	svg, err := os.ReadFile(filepath.Join(dir, "docs", "benchmarks-runtime.svg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte("<svg")) || !bytes.Contains(svg, []byte(">crun<")) {
		t.Errorf("chart is not an SVG with a crun bar:\n%s", svg)
	}
}

func TestNoInputIsAnError(t *testing.T) {
	if err := run(filepath.Join(t.TempDir(), "x.md"), nil); err == nil {
		t.Fatal("no inputs accepted")
	}
}
