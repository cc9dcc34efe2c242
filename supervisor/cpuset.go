package supervisor

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Spreading within the node. A service with x-hull placement: spread or binpack gets each
// replica pinned to CPUs with a cpuset (linux.resources.cpu.cpus in its spec, which the runtime
// writes to cpuset.cpus; cpuset.mems too when the node has several NUMA nodes), chosen when the
// replica starts from the cpusets of every live pinned replica on the node:
//
//   - spread: the NUMA node, then the CPUs, holding the fewest replicas of this service (then
//     the least load of all services), so replicas of one service do not share a core while
//     another is idle, and a service survives the loss of one node's memory bandwidth;
//   - binpack: the most loaded CPUs that still have room, so services fill a few CPUs and leave
//     others whole.
//
// A replica needs ⌈w⌉ CPUs and adds w to their load (w/n each), where w is its CPU
// reservation, else its CPU limit, else 1: a whole CPU. A CPU's room is 1. Unpinned replicas
// (no placement) are not counted: they may run anywhere.

// CPU placement modes (x-hull placement).
const (
	PlaceSpread  = "spread"
	PlaceBinpack = "binpack"
)

// Topology is a node's CPUs and the NUMA node each belongs to.
type Topology struct {
	CPUs []TopoCPU `json:"cpus"`
}

// TopoCPU is one online CPU.
type TopoCPU struct {
	ID   int `json:"id"`
	Node int `json:"node"`
}

// nodes counts distinct NUMA nodes.
func (t Topology) nodes() int {
	seen := map[int]bool{}
	for _, c := range t.CPUs {
		seen[c.Node] = true
	}
	return len(seen)
}

// HostTopology reads this host's online CPUs and their NUMA nodes from sysfs; a kernel without
// NUMA (no /sys/devices/system/node) puts every CPU on node 0.
func HostTopology() (Topology, error) {
	b, err := os.ReadFile("/sys/devices/system/cpu/online")
	if err != nil {
		return Topology{}, fmt.Errorf("cpu topology: %w", err)
	}
	ids, err := ParseCPUList(strings.TrimSpace(string(b)))
	if err != nil {
		return Topology{}, fmt.Errorf("cpu topology: /sys/devices/system/cpu/online: %w", err)
	}
	node := map[int]int{}
	lists, _ := filepath.Glob("/sys/devices/system/node/node*/cpulist")
	for _, l := range lists {
		n, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(filepath.Dir(l)), "node"))
		if err != nil {
			continue
		}
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		cs, err := ParseCPUList(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		for _, c := range cs {
			node[c] = n
		}
	}
	var t Topology
	for _, id := range ids {
		t.CPUs = append(t.CPUs, TopoCPU{ID: id, Node: node[id]})
	}
	return t, nil
}

// ParseCPUList reads the kernel's list format: "0-3,8,10-11".
func ParseCPUList(s string) ([]int, error) {
	var out []int
	if s == "" {
		return nil, nil
	}
	for _, part := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("cpu list %q: bad %q", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a || b-a > 1<<16 {
				return nil, fmt.Errorf("cpu list %q: bad %q", s, part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

// FormatCPUList writes ids in the kernel's list format, ranges collapsed.
func FormatCPUList(ids []int) string {
	s := append([]int(nil), ids...)
	sort.Ints(s)
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] <= s[j]+1 {
			j++
		}
		if s[i] == s[j] {
			parts = append(parts, strconv.Itoa(s[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// Pinned is one live replica's cpuset, as placement counts it.
type Pinned struct {
	Service string // "<project>/<service>"
	CPUs    []int
	Weight  float64
}

// cpuWeight is how much of a CPU a replica of svc claims.
func cpuWeight(svc *Service) float64 {
	switch {
	case svc.Resources.ReserveCPUs > 0:
		return svc.Resources.ReserveCPUs
	case svc.Resources.CPUs > 0:
		return svc.Resources.CPUs
	}
	return 1
}

// PickCPUs chooses the CPUs of a new replica of service (mode spread or binpack, weight w) on
// topo, given the node's live pinned replicas. It is pure: tests give it a fake topology.
func PickCPUs(topo Topology, mode, service string, w float64, live []Pinned) []int {
	if len(topo.CPUs) == 0 {
		return nil
	}
	n := min(max(1, int(math.Ceil(w-1e-9))), len(topo.CPUs))
	load, mine := map[int]float64{}, map[int]int{}
	for _, p := range live {
		for _, c := range p.CPUs {
			load[c] += p.Weight / float64(len(p.CPUs))
			if p.Service == service {
				mine[c]++
			}
		}
	}
	share := w / float64(n)
	fits := func(c int) bool { return load[c]+share <= 1+1e-9 }
	nodeMine, nodeLoad, nodeCPUs, nodeFit := map[int]int{}, map[int]float64{}, map[int]int{}, map[int]int{}
	for _, c := range topo.CPUs {
		nodeMine[c.Node] += mine[c.ID]
		nodeLoad[c.Node] += load[c.ID]
		nodeCPUs[c.Node]++
		if fits(c.ID) {
			nodeFit[c.Node]++
		}
	}
	var nodes []int
	for nd := range nodeCPUs {
		nodes = append(nodes, nd)
	}
	avg := func(nd int) float64 { return nodeLoad[nd] / float64(nodeCPUs[nd]) }
	var cpuLess func(a, b TopoCPU) bool
	if mode == PlaceBinpack {
		// The fullest node that can take the whole replica, then its fullest CPUs with room.
		sort.Slice(nodes, func(i, j int) bool {
			a, b := nodes[i], nodes[j]
			if fa, fb := nodeFit[a] >= n, nodeFit[b] >= n; fa != fb {
				return fa
			}
			if avg(a) != avg(b) {
				return avg(a) > avg(b)
			}
			return a < b
		})
		cpuLess = func(a, b TopoCPU) bool {
			if fa, fb := fits(a.ID), fits(b.ID); fa != fb {
				return fa
			}
			if load[a.ID] != load[b.ID] {
				if fits(a.ID) {
					return load[a.ID] > load[b.ID]
				}
				return load[a.ID] < load[b.ID] // all full: the least overcommitted
			}
			return a.ID < b.ID
		}
	} else {
		// The node with the fewest of this service's replicas, then its CPUs likewise.
		sort.Slice(nodes, func(i, j int) bool {
			a, b := nodes[i], nodes[j]
			if fa, fb := nodeCPUs[a] >= n, nodeCPUs[b] >= n; fa != fb {
				return fa
			}
			ma, mb := float64(nodeMine[a])/float64(nodeCPUs[a]), float64(nodeMine[b])/float64(nodeCPUs[b])
			if ma != mb {
				return ma < mb
			}
			if avg(a) != avg(b) {
				return avg(a) < avg(b)
			}
			return a < b
		})
		cpuLess = func(a, b TopoCPU) bool {
			if mine[a.ID] != mine[b.ID] {
				return mine[a.ID] < mine[b.ID]
			}
			if load[a.ID] != load[b.ID] {
				return load[a.ID] < load[b.ID]
			}
			return a.ID < b.ID
		}
	}
	rank := map[int]int{}
	for i, nd := range nodes {
		rank[nd] = i
	}
	cpus := append([]TopoCPU(nil), topo.CPUs...)
	sort.Slice(cpus, func(i, j int) bool {
		a, b := cpus[i], cpus[j]
		if rank[a.Node] != rank[b.Node] {
			return rank[a.Node] < rank[b.Node]
		}
		return cpuLess(a, b)
	})
	out := make([]int, 0, n)
	for _, c := range cpus[:n] {
		out = append(out, c.ID)
	}
	sort.Ints(out)
	return out
}

// memsOf is the NUMA nodes of cpus, for cpuset.mems: memory is allocated where the replica runs.
func memsOf(topo Topology, cpus []int) string {
	if topo.nodes() < 2 {
		return ""
	}
	want := map[int]bool{}
	for _, c := range cpus {
		want[c] = true
	}
	seen := map[int]bool{}
	var nodes []int
	for _, c := range topo.CPUs {
		if want[c.ID] && !seen[c.Node] {
			seen[c.Node] = true
			nodes = append(nodes, c.Node)
		}
	}
	return FormatCPUList(nodes)
}

// pinnedLocked is every live replica's cpuset on the node, for PickCPUs. Its weight is its
// service's as desired now (a changed service's old replicas count at the new weight: close
// enough, and they are being replaced).
func (s *Supervisor) pinnedLocked() []Pinned {
	var out []Pinned
	for _, r := range s.replicas {
		if r.State == Exited || r.CPUs == "" {
			continue
		}
		cpus, err := ParseCPUList(r.CPUs)
		if err != nil {
			continue
		}
		w := 1.0
		if svc := s.serviceLocked(key(r.Project, r.Service)); svc != nil {
			w = cpuWeight(svc)
		}
		out = append(out, Pinned{Service: key(r.Project, r.Service), CPUs: cpus, Weight: w})
	}
	return out
}
