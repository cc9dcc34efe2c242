package supervisor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeClock only moves when the test says so; AfterFunc callbacks run on Advance.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// armed is how many timers wait.
func (c *fakeClock) armed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// Advance moves time and fires the timers that fell due, in order.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.f()
	}
}

// fakeRuntime keeps containers in memory; tests end them with exit().
type fakeRuntime struct {
	mu       sync.Mutex
	cs       map[string]*fakeContainer
	nextPid  int
	created  int
	execCode int // what health-check execs return
	failNext error
	children bool // false: Wait reports "unknown", as for adopted containers
	ignore   map[syscall.Signal]bool
	kills    []string // "id SIG lb=<endpoints at the time>"
	lb       *fakeBalancer
	cpuRate  float64 // CPUs each running container burns, for CPUTime
	cpuAt    map[string]time.Duration
}

// CPUTime makes the fake a Meter: each call adds cpuRate × step to a container's counter,
// where step is the autoscale interval the test advances the clock by.
func (f *fakeRuntime) CPUTime(id string) (time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cpuAt == nil {
		f.cpuAt = map[string]time.Duration{}
	}
	f.cpuAt[id] += time.Duration(f.cpuRate * float64(time.Second))
	return f.cpuAt[id], nil
}

type fakeContainer struct {
	obs  Observed
	spec *specs.Spec
	exit chan Exit
	done bool
}

func newFakeRuntime() *fakeRuntime {
	return &fakeRuntime{cs: map[string]*fakeContainer{}, nextPid: 100, children: true}
}

func (f *fakeRuntime) Create(_ context.Context, id string, spec *specs.Spec, log *os.File) (Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext != nil {
		err := f.failNext
		f.failNext = nil
		return Observed{}, err
	}
	if _, ok := f.cs[id]; ok {
		return Observed{}, fmt.Errorf("container with id exists: %s", id)
	}
	f.nextPid++
	f.created++
	c := &fakeContainer{obs: Observed{ID: id, Status: "created", Pid: f.nextPid, Address: fmt.Sprintf("10.0.0.%d", f.nextPid%250), Annotations: spec.Annotations},
		spec: spec, exit: make(chan Exit, 1)}
	f.cs[id] = c
	return c.obs, nil
}

func (f *fakeRuntime) Start(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cs[id]
	if c == nil {
		return fmt.Errorf("no container %s", id)
	}
	c.obs.Status = "running"
	return nil
}

// end makes a container's process exit with e.
func (f *fakeRuntime) end(id string, e Exit) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.cs[id]
	if c == nil || c.done {
		return false
	}
	c.done = true
	c.obs.Status = "stopped"
	c.exit <- e
	return true
}

func (f *fakeRuntime) Kill(id string, sig syscall.Signal) error {
	f.mu.Lock()
	n := -1
	if f.lb != nil {
		f.lb.mu.Lock()
		n = 0
		for _, eps := range f.lb.eps {
			n += len(eps)
		}
		f.lb.mu.Unlock()
	}
	f.kills = append(f.kills, fmt.Sprintf("%s %d lb=%d", id, sig, n))
	ignored := f.ignore[sig]
	f.mu.Unlock()
	if !ignored {
		f.end(id, Exit{Known: true, Signal: fmt.Sprint(sig)})
	}
	return nil
}

func (f *fakeRuntime) Delete(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.cs[id]; c != nil && !c.done {
		c.done = true
		c.exit <- Exit{Known: true, Signal: "SIGKILL"}
	}
	delete(f.cs, id)
	return nil
}

func (f *fakeRuntime) List(context.Context) ([]Observed, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Observed
	for _, c := range f.cs {
		out = append(out, c.obs)
	}
	return out, nil
}

func (f *fakeRuntime) Wait(ctx context.Context, id string, pid int) (Exit, error) {
	f.mu.Lock()
	c := f.cs[id]
	children := f.children
	f.mu.Unlock()
	if c == nil {
		return Exit{Reason: "exit status unknown: gone"}, nil
	}
	select {
	case e := <-c.exit:
		c.exit <- e // others may wait too (a second daemon in adoption tests)
		if !children {
			return Exit{Reason: "exit status unknown: not our child"}, nil
		}
		return e, nil
	case <-ctx.Done():
		return Exit{}, ctx.Err()
	}
}

func (f *fakeRuntime) Exec(ctx context.Context, id string, argv []string) (int, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.execCode, "probe output", nil
}

func (f *fakeRuntime) running() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for id, c := range f.cs {
		if c.obs.Status == "running" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

type fakeImages struct{}

func (fakeImages) Prepare(_ context.Context, ref, id string) (string, ImageConfig, error) {
	return "/rootfs/" + id, ImageConfig{Cmd: []string{"/bin/app"}}, nil
}
func (fakeImages) Release(context.Context, string) error { return nil }

type fakeBalancer struct {
	mu   sync.Mutex
	eps  map[string][]netip.Addr
	vips map[string]netip.Addr
	log  []string
}

func (b *fakeBalancer) SetEndpoints(_ context.Context, svc string, _ []Port, eps, _ []netip.Addr) (netip.Addr, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.eps == nil {
		b.eps = map[string][]netip.Addr{}
	}
	b.eps[svc] = eps
	b.log = append(b.log, fmt.Sprint(len(eps)))
	if b.vips == nil {
		b.vips = map[string]netip.Addr{}
	}
	if _, ok := b.vips[svc]; !ok {
		b.vips[svc] = netip.AddrFrom4([4]byte{10, 96, 0, byte(len(b.vips) + 1)})
	}
	return b.vips[svc], nil
}
func (b *fakeBalancer) Remove(_ context.Context, svc string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.eps, svc)
	return nil
}

// memStore is the Store in memory, JSON-free but copying, as a database would.
type memStore struct {
	mu       sync.Mutex
	projects map[string]Project
	replicas map[string]Replica
	services map[string]ServiceState
	onPut    func(Replica) // called before each replica write, without the store's lock
}

func newMemStore() *memStore {
	return &memStore{projects: map[string]Project{}, replicas: map[string]Replica{}, services: map[string]ServiceState{}}
}
func (m *memStore) PutProject(p *Project) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.projects[p.Name] = *p
	return nil
}
func (m *memStore) DeleteProject(n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.projects, n)
	return nil
}
func (m *memStore) Projects() ([]*Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Project
	for _, p := range m.projects {
		c := p
		out = append(out, &c)
	}
	return out, nil
}
func (m *memStore) PutReplica(r *Replica) error {
	if m.onPut != nil {
		m.onPut(*r)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *r
	c.done = nil
	m.replicas[r.ID] = c
	return nil
}
func (m *memStore) DeleteReplica(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.replicas, id)
	return nil
}
func (m *memStore) Replicas() ([]*Replica, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Replica
	for _, r := range m.replicas {
		c := r
		out = append(out, &c)
	}
	return out, nil
}
func (m *memStore) PutService(k string, st *ServiceState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := ServiceState{GaveUp: st.GaveUp, Restarted: st.Restarted, Slots: map[int]*Slot{}, History: append([]RevisionRecord(nil), st.History...)}
	if st.Rollout != nil {
		ro := *st.Rollout
		c.Rollout = &ro
	}
	for n, s := range st.Slots {
		x := *s
		c.Slots[n] = &x
	}
	m.services[k] = c
	return nil
}
func (m *memStore) DeleteService(k string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.services, k)
	return nil
}
func (m *memStore) Services() (map[string]*ServiceState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]*ServiceState{}
	for k, st := range m.services {
		c := ServiceState{GaveUp: st.GaveUp, Restarted: st.Restarted, Slots: map[int]*Slot{}, History: st.History}
		if st.Rollout != nil {
			ro := *st.Rollout
			c.Rollout = &ro
		}
		for n, s := range st.Slots {
			x := *s
			c.Slots[n] = &x
		}
		out[k] = &c
	}
	return out, nil
}
func (m *memStore) Close() error { return nil }

// harness runs a supervisor over fakes.
type harness struct {
	t     *testing.T
	clk   *fakeClock
	rt    *fakeRuntime
	lb    *fakeBalancer
	store *memStore
	sup   *Supervisor
	stop  func()
}

func newHarness(t *testing.T, rt *fakeRuntime, store *memStore, clk *fakeClock) *harness {
	t.Helper()
	h := &harness{t: t, clk: clk, rt: rt, lb: &fakeBalancer{}, store: store}
	rt.mu.Lock()
	rt.lb = h.lb
	rt.mu.Unlock()
	h.sup = New(Config{Runtime: rt, Images: fakeImages{}, Balancer: h.lb, Store: store,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseSpec: baseSpec, LogDir: t.TempDir(),
		Clock: clk, Rand: func() float64 { return 0.5 }, Tick: time.Hour, Topology: &Topology{CPUs: []TopoCPU{{0, 0}, {1, 0}, {2, 1}, {3, 1}}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.sup.Run(ctx) }()
	h.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		if h.stop != nil {
			h.stop()
		}
	})
	return h
}

// kill ends the daemon, as kill -9 would: the containers stay.
func (h *harness) kill() {
	h.stop()
	h.stop = nil
}

func baseSpec() *specs.Spec {
	return &specs.Spec{Process: &specs.Process{Env: []string{"PATH=/bin"}}, Linux: &specs.Linux{}}
}

// eventually polls cond: the supervisor works in goroutines, the fakes never sleep.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for: %s (running: %v)", what, h.rt.running())
}

func (h *harness) status(svc string) ServiceStatus {
	in, err := h.sup.Inspect(key("p", svc))
	if err != nil {
		return ServiceStatus{} // not loaded yet (adoption runs in Run)
	}
	return in.ServiceStatus
}

// probeTick advances the clock by d once a probe's timer is armed (probes arm theirs from a
// goroutine: advancing before would skip the check).
func (h *harness) probeTick(d time.Duration) {
	h.t.Helper()
	h.eventually("a timer armed", func() bool { return h.clk.armed() > 0 })
	h.clk.Advance(d)
}
