package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Recorder receives one record per kernel step; hull's --debug narrates these.
type Recorder interface {
	Step(op, args string, err error, took time.Duration)
}

// Manager controls one container's cgroup, in every hierarchy the host mounts.
type Manager interface {
	// Path is the cgroupsPath the manager was made for, e.g. /hull/abc.
	Path() string
	// Apply moves a process (all its threads) into the cgroup, in every hierarchy.
	Apply(pid int) error
	// Set writes the limits of r; used at create time and by `update`.
	Set(r *specs.LinuxResources) error
	// Stats reads usage counters.
	Stats() (*Stats, error)
	// Freeze stops every process in the cgroup; it returns once the kernel reports them frozen.
	Freeze() error
	// Thaw lets frozen processes run again.
	Thaw() error
	// Frozen reports whether the kernel considers the cgroup frozen.
	Frozen() (bool, error)
	// Procs lists every pid in the cgroup and its descendants.
	Procs() ([]int, error)
	// Kill sends sig to every process in the cgroup.
	Kill(sig unix.Signal) error
	// Delete removes the directories this manager created, deepest first, and never others.
	Delete() error
	// Created lists the directories this manager created, in creation order, for the state file.
	Created() []string
}

// Stats is a small, version-independent view of a cgroup's counters. A limit of 0 means "no limit".
type Stats struct {
	Memory MemoryStats
	CPU    CPUStats
	Pids   PidsStats
}

// MemoryStats is in bytes. Failcnt is v1 only; OOMEvents is v2 only (memory.events "oom").
type MemoryStats struct {
	Usage, Limit, MaxUsage uint64
	Failcnt                uint64
	OOMEvents, OOMKills    uint64
}

// CPUStats is in nanoseconds, except the period counts.
type CPUStats struct {
	UsageNs, UserNs, SystemNs uint64
	Periods, ThrottledPeriods uint64
	ThrottledNs               uint64
}

// PidsStats counts tasks.
type PidsStats struct {
	Current, Limit uint64
}

// ErrPath is returned for a cgroupsPath that is not absolute and clean.
var ErrPath = errors.New("cgroups path must be absolute, clean and not /")

// New creates the cgroup at path (relative to each hierarchy's mount point) and sets r. It
// remembers which directories it made, so Delete removes only those. On error it undoes
// everything it did.
func New(path string, r *specs.LinuxResources, rec Recorder) (Manager, error) {
	if err := validatePath(path); err != nil {
		return nil, err
	}
	lay, err := hostLayout()
	if err != nil {
		return nil, err
	}
	b := newBase(path, lay, rec)
	if lay.mode == "v2" {
		return newV2(b, r)
	}
	return newV1(b, r)
}

// Load re-opens a cgroup made by New in an earlier process, from the Created list that
// process persisted. It creates nothing, and succeeds even if the cgroup is gone, so that
// Delete can still clean up.
func Load(path string, created []string, rec Recorder) (Manager, error) {
	if err := validatePath(path); err != nil {
		return nil, err
	}
	lay, err := hostLayout()
	if err != nil {
		return nil, err
	}
	if err := validateCreated(lay.mounts(), path, created); err != nil {
		return nil, err
	}
	b := newBase(path, lay, rec)
	b.created = append([]string(nil), created...)
	if lay.mode == "v2" {
		return loadV2(b)
	}
	return loadV1(b)
}

// Mode reports the host's cgroup layout: "v1", "hybrid" (v1 controllers plus a cgroup2 mount
// at /sys/fs/cgroup/unified), "v2", or "none".
func Mode() string {
	lay, err := hostLayout()
	if err != nil {
		return "none"
	}
	return lay.mode
}

// validatePath accepts absolute, clean paths only. The spec: "Runtimes MAY consider certain
// cgroupsPath values to be invalid, and MUST generate an error if this is the case."
func validatePath(p string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%q: %w", p, ErrPath)
	}
	return nil
}

// validateCreated refuses a persisted list that names anything but the cgroup or its
// ancestors inside a known hierarchy, so a damaged state file cannot make Delete rmdir
// an unrelated directory.
func validateCreated(mounts []string, path string, created []string) error {
next:
	for _, d := range created {
		for _, m := range mounts {
			for p := path; p != "/"; p = filepath.Dir(p) {
				if d == m+p {
					continue next
				}
			}
		}
		return fmt.Errorf("created dir %q is not %s or a parent of it in a cgroup hierarchy: %w", d, path, ErrPath)
	}
	return nil
}

type nopRecorder struct{}

func (nopRecorder) Step(string, string, error, time.Duration) {}

// RemoveIfEmpty removes the directory of cgroup path in every hierarchy where it is empty: for
// a parent that several containers share (hull's default /hull), which only the last one out can
// remove. A parent still in use or already gone is left alone, silently.
func RemoveIfEmpty(path string, rec Recorder) {
	lay, err := hostLayout()
	if err != nil || !filepath.IsAbs(path) || path == "/" {
		return
	}
	for _, m := range lay.mounts() {
		d := filepath.Join(m, path)
		t0 := time.Now()
		if err := unix.Rmdir(d); err == nil {
			rec.Step("cgroup.rmdir", d, nil, time.Since(t0))
		}
	}
}
