package supervisor

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// topo makes a fake node: nodes NUMA nodes of per CPUs each, numbered in order.
func topo(nodes, per int) Topology {
	var t Topology
	for n := range nodes {
		for i := range per {
			t.CPUs = append(t.CPUs, TopoCPU{ID: n*per + i, Node: n})
		}
	}
	return t
}

func TestPickCPUs(t *testing.T) {
	pin := func(svc string, w float64, cpus ...int) Pinned { return Pinned{Service: svc, CPUs: cpus, Weight: w} }
	for _, tc := range []struct {
		name string
		topo Topology
		mode string
		w    float64
		live []Pinned
		want []int
	}{
		{"spread: first replica on the first CPU", topo(1, 4), PlaceSpread, 1, nil, []int{0}},
		{"spread: next replica on a CPU without one", topo(1, 4), PlaceSpread, 1,
			[]Pinned{pin("web", 1, 0)}, []int{1}},
		{"spread: avoids the CPU another service loads", topo(1, 4), PlaceSpread, 1,
			[]Pinned{pin("web", 1, 0), pin("db", 1, 1)}, []int{2}},
		{"spread: own replicas count before others' load", topo(1, 2), PlaceSpread, 1,
			[]Pinned{pin("web", 1, 0), pin("db", 1, 1), pin("db", 1, 1)}, []int{1}},
		{"spread: wraps around when every CPU has one", topo(1, 2), PlaceSpread, 0.5,
			[]Pinned{pin("web", 0.5, 0), pin("web", 0.5, 1), pin("web", 0.5, 0)}, []int{1}},
		{"spread: the other NUMA node first", topo(2, 2), PlaceSpread, 1,
			[]Pinned{pin("web", 1, 0)}, []int{2}},
		{"spread: back to the first node, its free CPU", topo(2, 2), PlaceSpread, 1,
			[]Pinned{pin("web", 1, 0), pin("web", 1, 2)}, []int{1}},
		{"spread: a 2-CPU replica stays on one NUMA node", topo(2, 2), PlaceSpread, 1.5,
			[]Pinned{pin("web", 1.5, 0, 1)}, []int{2, 3}},
		{"spread: a 2-CPU replica on the less loaded node", topo(2, 2), PlaceSpread, 2,
			[]Pinned{pin("db", 1, 2)}, []int{0, 1}},
		{"more CPUs than the node has: all of them", topo(1, 2), PlaceSpread, 4, nil, []int{0, 1}},
		{"binpack: first replica on the first CPU", topo(1, 4), PlaceBinpack, 0.25, nil, []int{0}},
		{"binpack: fills the CPU with room", topo(1, 4), PlaceBinpack, 0.25,
			[]Pinned{pin("web", 0.25, 0), pin("web", 0.25, 0)}, []int{0}},
		{"binpack: fills another service's CPU too", topo(1, 4), PlaceBinpack, 0.5,
			[]Pinned{pin("db", 0.5, 2)}, []int{2}},
		{"binpack: the fullest CPU that has room", topo(1, 4), PlaceBinpack, 0.5,
			[]Pinned{pin("db", 0.25, 0), pin("db", 0.5, 1)}, []int{1}},
		{"binpack: a full CPU is skipped", topo(1, 4), PlaceBinpack, 0.5,
			[]Pinned{pin("web", 0.5, 0), pin("web", 0.5, 0)}, []int{1}},
		{"binpack: whole CPUs by default", topo(1, 4), PlaceBinpack, 1,
			[]Pinned{pin("web", 1, 0)}, []int{1}},
		{"binpack: everything full, the least overcommitted", topo(1, 2), PlaceBinpack, 1,
			[]Pinned{pin("web", 1, 0), pin("web", 1, 0), pin("web", 1, 1)}, []int{1}},
		{"binpack: the fuller NUMA node", topo(2, 2), PlaceBinpack, 0.5,
			[]Pinned{pin("db", 0.5, 3)}, []int{3}},
		{"binpack: a node that fits the whole replica", topo(2, 2), PlaceBinpack, 2,
			[]Pinned{pin("db", 1, 0)}, []int{2, 3}},
		{"no topology, no cpuset", Topology{}, PlaceSpread, 1, nil, nil},
	} {
		got := PickCPUs(tc.topo, tc.mode, "web", tc.w, tc.live)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Spreading n replicas one after another uses every CPU before any holds two.
func TestPickCPUsSpreadsEvenly(t *testing.T) {
	tp := topo(2, 4)
	var live []Pinned
	count := map[int]int{}
	for range 16 {
		c := PickCPUs(tp, PlaceSpread, "web", 1, live)
		live = append(live, Pinned{Service: "web", CPUs: c, Weight: 1})
		count[c[0]]++
		lo, hi := 1<<30, 0
		for _, cpu := range tp.CPUs {
			lo, hi = min(lo, count[cpu.ID]), max(hi, count[cpu.ID])
		}
		if hi-lo > 1 {
			t.Fatalf("after %d replicas: %v", len(live), count)
		}
	}
}

func TestCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		ids  []int
		back string
	}{
		{"0", []int{0}, "0"},
		{"0-3", []int{0, 1, 2, 3}, "0-3"},
		{"0-1,4,6-7", []int{0, 1, 4, 6, 7}, "0-1,4,6-7"},
		{"3,1,2", []int{3, 1, 2}, "1-3"},
		{"", nil, ""},
	} {
		ids, err := ParseCPUList(tc.in)
		if err != nil || !reflect.DeepEqual(ids, tc.ids) {
			t.Errorf("parse %q: %v %v", tc.in, ids, err)
		}
		if got := FormatCPUList(ids); got != tc.back {
			t.Errorf("format %v: %q, want %q", ids, got, tc.back)
		}
	}
	for _, bad := range []string{"a", "1-", "3-1", "-1", "1,,2"} {
		if _, err := ParseCPUList(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMemsOf(t *testing.T) {
	if m := memsOf(topo(1, 4), []int{1}); m != "" {
		t.Errorf("one node: %q, want none", m)
	}
	if m := memsOf(topo(2, 2), []int{2, 3}); m != "1" {
		t.Errorf("two nodes: %q, want 1", m)
	}
}

// Through the supervisor: each replica's spec carries the cpuset placement chose (on the fake
// 2×2 node of the harness), spread over both NUMA nodes for one service, packed for another,
// and a replacement takes the place its predecessor left.
func TestReplicaCpusets(t *testing.T) {
	h := start(t)
	spread := web(4)
	spread.CPUPlacement = PlaceSpread
	packed := web(2)
	packed.Name, packed.CPUPlacement, packed.Resources.ReserveCPUs, packed.Ports = "db", PlaceBinpack, 0.5, nil
	plain := web(1)
	plain.Name, plain.Ports = "plain", nil
	// db first: replicas of services applied together start in any order, and each counts
	// the others'.
	if err := h.sup.Apply(context.Background(), project(packed, plain)); err != nil {
		t.Fatal(err)
	}
	h.eventually("3 running", func() bool { return len(h.rt.running()) == 3 })
	if err := h.sup.Apply(context.Background(), project(spread, packed, plain)); err != nil {
		t.Fatal(err)
	}
	h.eventually("7 running", func() bool { return len(h.rt.running()) == 7 })
	cpus := func() map[string]string {
		h.rt.mu.Lock()
		defer h.rt.mu.Unlock()
		out := map[string]string{}
		for id, c := range h.rt.cs {
			if c.done {
				continue
			}
			cs, ms := "", ""
			if r := c.spec.Linux.Resources; r != nil && r.CPU != nil {
				cs, ms = r.CPU.Cpus, r.CPU.Mems
			}
			if cs != c.spec.Annotations[AnnCPUs] {
				t.Errorf("%s: cpus %q, annotation %q", id, cs, c.spec.Annotations[AnnCPUs])
			}
			out[strings.SplitN(id, ".", 2)[0]] = cs + "/" + ms
		}
		return out
	}
	got := cpus()
	seen := map[string]int{}
	for _, n := range []string{"p-web-1", "p-web-2", "p-web-3", "p-web-4"} {
		seen[got[n]]++
	}
	if len(seen) != 4 {
		t.Errorf("spread web over the 4 CPUs: %v", got)
	}
	if got["p-db-1"] != got["p-db-2"] {
		t.Errorf("binpack db (0.5 CPU each) on one CPU: %v", got)
	}
	if got["p-plain-1"] != "/" {
		t.Errorf("no placement, no cpuset: %v", got)
	}
	for _, r := range h.status("web").Replicas {
		if r.CPUs == "" || !strings.HasPrefix(got[strings.SplitN(r.ID, ".", 2)[0]], r.CPUs+"/") {
			t.Errorf("ps shows %s on %q, spec %v", r.ID, r.CPUs, got)
		}
	}
	// web-2 dies: its replacement gets the CPU nobody of web holds.
	was := got["p-web-2"]
	h.rt.end("p-web-2.1", Exit{Known: true, Code: 1})
	h.eventually("web-2 replaced", func() bool {
		h.clk.Advance(time.Second) // its backoff
		for _, id := range h.rt.running() {
			if id == "p-web-2.2" {
				return true
			}
		}
		return false
	})
	if now := cpus()["p-web-2"]; now != was {
		t.Errorf("replacement on %q, want the freed %q", now, was)
	}
}
