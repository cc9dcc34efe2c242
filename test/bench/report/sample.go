package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// sample is one line a bench script appends to $BENCH_OUT: every measurement of one case by
// one tool in one round.
type sample struct {
	Area    string    `json:"area"`
	Case    string    `json:"case"`
	Tool    string    `json:"tool"`
	Unit    string    `json:"unit"`
	Samples []float64 `json:"samples"`
}

// readSamples parses JSON lines; round numbers the file (one file per round) so the report can
// show how much the rounds disagree.
func readSamples(r io.Reader, round int) ([]measurement, error) {
	var out []measurement
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var s sample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if s.Area == "" || s.Case == "" || s.Tool == "" || len(s.Samples) == 0 {
			return nil, fmt.Errorf("line %d: area, case, tool and samples are required", n)
		}
		out = append(out, measurement{sample: s, round: round})
	}
	return out, sc.Err()
}

type measurement struct {
	sample
	round int
}

// result is every round of one (area, case, tool).
type result struct {
	Area, Case, Tool, Unit string
	All                    []float64   // every sample of every round
	Rounds                 [][]float64 // samples per round, in round order
}

func (r *result) Median() float64 { return quantile(r.All, 0.5) }

// RoundMedians is the median of each round: their spread says how far a single run can be trusted.
func (r *result) RoundMedians() []float64 {
	var m []float64
	for _, s := range r.Rounds {
		if len(s) > 0 {
			m = append(m, quantile(s, 0.5))
		}
	}
	return m
}

// HigherIsBetter is true for throughput units; everything else (time, memory) is better lower.
func (r *result) HigherIsBetter() bool {
	u := strings.ToLower(r.Unit)
	return strings.Contains(u, "/s") || strings.HasPrefix(u, "ops") || u == "rps"
}

// group collects measurements by area, case and tool, keeping the order cases first appear in.
func group(ms []measurement) []*result {
	idx := map[string]*result{}
	var order []*result
	for _, m := range ms {
		k := m.Area + "\x00" + m.Case + "\x00" + m.Tool
		r := idx[k]
		if r == nil {
			r = &result{Area: m.Area, Case: m.Case, Tool: m.Tool, Unit: m.Unit}
			idx[k] = r
			order = append(order, r)
		}
		r.All = append(r.All, m.Samples...)
		for len(r.Rounds) <= m.round {
			r.Rounds = append(r.Rounds, nil)
		}
		r.Rounds[m.round] = append(r.Rounds[m.round], m.Samples...)
	}
	return order
}

// quantile interpolates linearly between the closest ranks.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	pos := q * float64(len(s)-1)
	lo := int(pos)
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	f := pos - float64(lo)
	return s[lo]*(1-f) + s[lo+1]*f
}
