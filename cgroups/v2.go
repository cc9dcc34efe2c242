package cgroups

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Manager drives one cgroup in the unified hierarchy (cgroups(7), "Cgroups version 2").
type v2Manager struct {
	*base
	dir string // mount + path
	cg  *cgroup2.Manager
}

func newV2(b *base, r *specs.LinuxResources) (_ Manager, err error) {
	ws, err := v2Writes(r)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Delete())
		}
	}()
	if err := b.mkdirAll(b.lay.unified); err != nil {
		return nil, err
	}
	m, err := loadV2(b)
	if err != nil {
		return nil, err
	}
	v := m.(*v2Manager)
	if err := v.enableControllers(); err != nil {
		return nil, err
	}
	if err := v.set(ws, r); err != nil {
		return nil, err
	}
	return v, nil
}

func loadV2(b *base) (Manager, error) {
	cg, err := cgroup2.Load(b.path, cgroup2.WithMountpoint(b.lay.unified))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", b.path, err)
	}
	return &v2Manager{base: b, dir: b.lay.unified + b.path, cg: cg}, nil
}

// enableControllers turns on, in every ancestor of the cgroup, each controller the ancestor
// has available, top-down. In v2 a controller's files appear in a cgroup only when its
// parent lists the controller in cgroup.subtree_control. The kernel refuses (EBUSY) in a
// non-root ancestor that holds processes itself ("no internal processes"); that is not an
// error here: Set then names the file that is missing.
func (m *v2Manager) enableControllers() error {
	dir := m.lay.unified
	for _, p := range strings.Split(strings.TrimPrefix(m.path, "/"), "/") {
		avail, err := readString(dir + "/cgroup.controllers")
		if err != nil {
			return fmt.Errorf("read controllers of %s: %w", dir, err)
		}
		on, err := readString(dir + "/cgroup.subtree_control")
		if err != nil {
			return fmt.Errorf("read subtree_control of %s: %w", dir, err)
		}
		var add []string
		for _, c := range strings.Fields(avail) {
			if !slices.Contains(strings.Fields(on), c) {
				add = append(add, "+"+c)
			}
		}
		if len(add) > 0 && m.write(dir, "cgroup.subtree_control", strings.Join(add, " ")) != nil {
			for _, c := range add { // one by one, keeping those the kernel accepts
				_ = m.write(dir, "cgroup.subtree_control", c)
			}
		}
		dir += "/" + p
	}
	return nil
}

func (m *v2Manager) Set(r *specs.LinuxResources) error {
	ws, err := v2Writes(r)
	if err != nil {
		return err
	}
	return m.set(ws, r)
}

func (m *v2Manager) set(ws []write, r *specs.LinuxResources) error {
	enabled, err := readString(m.dir + "/cgroup.controllers")
	if err != nil {
		return fmt.Errorf("read controllers of %s: %w", m.dir, err)
	}
	dirOf := func(ctrl string) string {
		if ctrl == "cgroup" || slices.Contains(strings.Fields(enabled), ctrl) {
			return m.dir
		}
		return ""
	}
	files := present{}
	if err := checkWrites(ws, dirOf, files); err != nil {
		return err
	}
	if err := m.applyWrites(ws, dirOf, files); err != nil {
		return err
	}
	if r == nil || len(r.Devices) == 0 {
		return nil
	}
	// v2 has no devices files: the kernel asks a BPF_PROG_TYPE_CGROUP_DEVICE program
	// attached to the cgroup on every open and mknod. The library compiles the rules into
	// one and attaches it with BPF_F_ALLOW_MULTI.
	t0 := time.Now()
	err = m.cg.Update(&cgroup2.Resources{Devices: v2Devices(r.Devices)})
	m.step("cgroup.devices", fmt.Sprintf("eBPF filter of %d rules attached to %s", len(r.Devices), m.dir), t0, err)
	if err != nil {
		return fmt.Errorf("devices: attach eBPF filter to %s: %w", m.dir, err)
	}
	return nil
}

func (m *v2Manager) Apply(pid int) error { return m.writeProcs(m.dir, pid) }

func (m *v2Manager) Stats() (*Stats, error) {
	if !exists(m.dir) {
		return nil, m.gone() // the library would read the missing files as zeros
	}
	st, err := m.cg.StatFiltered(cgroup2.StatPids | cgroup2.StatCPU | cgroup2.StatMemory | cgroup2.StatMemoryEvents)
	if err != nil {
		return nil, fmt.Errorf("stats of %s: %w", m.path, err)
	}
	return statsV2(st), nil
}

// Freeze writes cgroup.freeze and waits for "frozen 1" in cgroup.events: the write only
// asks, and the kernel reports when every task has stopped.
func (m *v2Manager) Freeze() error {
	if err := m.write(m.dir, "cgroup.freeze", "1"); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		frozen, err := m.Frozen()
		if err != nil || frozen {
			return err
		}
		if time.Now().After(deadline) {
			_ = m.Thaw()
			return fmt.Errorf("freeze %s: still not frozen after 2s: %w", m.path, unix.ETIMEDOUT)
		}
		time.Sleep(delay)
	}
}

func (m *v2Manager) Thaw() error { return m.write(m.dir, "cgroup.freeze", "0") }

func (m *v2Manager) Frozen() (bool, error) {
	ev, err := readString(m.dir + "/cgroup.events")
	if err != nil {
		return false, fmt.Errorf("read %s/cgroup.events: %w", m.dir, err)
	}
	return slices.Contains(strings.Split(ev, "\n"), "frozen 1"), nil
}

func (m *v2Manager) Procs() ([]int, error) {
	pids, err := procsUnder(m.dir)
	if err != nil {
		return nil, fmt.Errorf("procs of %s: %w", m.path, err)
	}
	return pids, nil
}

// Kill writes cgroup.kill for SIGKILL (Linux 5.14): the kernel kills every member of the
// subtree at once, including processes forked meanwhile. Other signals, and older kernels,
// go through freeze, signal each pid, thaw.
func (m *v2Manager) Kill(sig unix.Signal) error {
	if sig == unix.SIGKILL && exists(m.dir+"/cgroup.kill") {
		return m.write(m.dir, "cgroup.kill", "1")
	}
	return m.signalAll(sig, exists(m.dir+"/cgroup.freeze"), m)
}

// CloneInto is implemented by managers on hosts with a cgroup2 mount (v2, and hybrid for its
// cgroup2 side). A process can then be born inside the cgroup with clone3(CLONE_INTO_CGROUP):
// fork takes the kernel's threadgroup rwsem only for reading, while a cgroup.procs write takes
// it for writing and may wait out an RCU grace period. OpenDir returns the cgroup directory
// for SysProcAttr.CgroupFD, or nil if the host has no cgroup2 side.
type CloneInto interface {
	OpenDir() (*os.File, error)
}

// OpenDir opens the cgroup's directory.
func (m *v2Manager) OpenDir() (*os.File, error) {
	f, err := os.OpenFile(m.dir, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", m.dir, err)
	}
	return f, nil
}
