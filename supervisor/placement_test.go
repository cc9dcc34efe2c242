package supervisor

import (
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	const mib = 1 << 20
	svc := func(cpus float64, mem int64, perNode int) *Service {
		s := &Service{Name: "web", Resources: Resources{ReserveCPUs: cpus, ReserveMemory: mem}}
		if perNode > 0 {
			s.Placement = &Placement{MaxReplicasPerNode: perNode}
		}
		return s
	}
	for _, tc := range []struct {
		name string
		svc  *Service
		free Capacity
		live int
		want string
	}{
		{"no reservations always fit", svc(0, 0, 0), Capacity{}, 9, ""},
		{"memory fits", svc(0, 512*mib, 0), Capacity{CPUs: 1, Memory: 512 * mib}, 0, ""},
		{"memory does not", svc(0, 512*mib, 0), Capacity{CPUs: 1, Memory: 200 * mib}, 0, "insufficient memory: 512Mi requested, 200Mi free"},
		{"overcommitted node shows 0 free", svc(0, 512*mib, 0), Capacity{Memory: -5 * mib}, 0, "insufficient memory: 512Mi requested, 0Mi free"},
		{"cpus do not", svc(1.5, 0, 0), Capacity{CPUs: 1}, 0, "insufficient cpus: 1.5 requested, 1.00 free"},
		{"cpus fit exactly", svc(0.5, 0, 0), Capacity{CPUs: 0.5}, 0, ""},
		{"per node cap", svc(0, 0, 2), Capacity{CPUs: 8}, 2, "max_replicas_per_node 2 reached"},
		{"under the cap", svc(0, 0, 2), Capacity{CPUs: 8}, 1, ""},
	} {
		if got := admit(tc.svc, tc.free, tc.live); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The diff starts what fits, in slot order, and reports the rest pending.
func TestDiffPlacement(t *testing.T) {
	svc := &Service{Name: "web", Image: "/img", Replicas: 4, Resources: Resources{ReserveMemory: 300 << 20}}
	p := Diff(View{Now: time.Unix(1000, 0), Service: svc, DepsReady: true, Free: Capacity{CPUs: 2, Memory: 700 << 20}})
	if len(p.Actions) != 2 || p.Actions[0].Slot != 1 || p.Actions[1].Slot != 2 {
		t.Fatalf("actions %+v, want starts of slots 1 and 2", p.Actions)
	}
	if len(p.Pending) != 2 || p.Pending[3] != "insufficient memory: 300Mi requested, 100Mi free" || p.Pending[4] == "" {
		t.Fatalf("pending %v", p.Pending)
	}
}
