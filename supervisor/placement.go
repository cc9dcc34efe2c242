package supervisor

import (
	"bufio"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
)

// Placement decides whether a new replica may run on the node (one node, this host, for now).
// Admission is by reservation, as Kubernetes' scheduler does with requests: the
// deploy.resources.reservations (cpus, memory) of every live replica of every service, plus the
// new one's, must fit the node's capacity; a replica that does not fit is not started and its
// slot stays pending with the reason, instead of overcommitting. deploy.placement.max_replicas_per_node
// caps a service's live replicas on the node. Which CPUs of the node a replica gets is
// cpuset.go's.

// Capacity is what a node offers to reservations.
type Capacity struct {
	CPUs   float64
	Memory int64
}

// HostCapacity is this host's: its CPUs and its MemTotal.
func HostCapacity() Capacity {
	c := Capacity{CPUs: float64(goruntime.NumCPU())}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			c.Memory = kb << 10
		}
	}
	return c
}

// admit says why one more replica of svc does not fit in free (capacity minus every live
// replica's reservation), with live replicas of svc already on the node; "" when it fits.
func admit(svc *Service, free Capacity, live int) string {
	if pl := svc.Placement; pl != nil && pl.MaxReplicasPerNode > 0 && live >= pl.MaxReplicasPerNode {
		return fmt.Sprintf("max_replicas_per_node %d reached", pl.MaxReplicasPerNode)
	}
	if m := svc.Resources.ReserveMemory; m > 0 && m > free.Memory {
		return fmt.Sprintf("insufficient memory: %s requested, %s free", mi(m), mi(max(free.Memory, 0)))
	}
	if c := svc.Resources.ReserveCPUs; c > 0 && c > free.CPUs+1e-9 {
		return fmt.Sprintf("insufficient cpus: %g requested, %.2f free", c, max(free.CPUs, 0))
	}
	return ""
}

func mi(b int64) string { return fmt.Sprintf("%dMi", b>>20) }

// freeLocked is the node's capacity minus the reservations of every replica that holds one:
// every replica not exited, of every service.
func (s *Supervisor) freeLocked() Capacity {
	free := s.cfg.Capacity
	for _, r := range s.replicas {
		if r.State == Exited {
			continue
		}
		if svc := s.serviceLocked(key(r.Project, r.Service)); svc != nil {
			free.CPUs -= svc.Resources.ReserveCPUs
			free.Memory -= svc.Resources.ReserveMemory
		}
	}
	return free
}

// setPendingLocked records why slots wait for placement, with an event when a reason changes.
func (s *Supervisor) setPendingLocked(k string, pending map[int]string) {
	st := s.stateLocked(k)
	p, n := splitKey(k)
	for slot, why := range pending {
		if st.Pending[slot] != why {
			s.emit(Event{Type: "pending", Project: p, Service: n, Replica: fmt.Sprintf("%s-%d", n, slot), Reason: why})
		}
	}
	st.Pending = pending
}
