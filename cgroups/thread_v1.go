package cgroups

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ThreadJoiner is implemented by managers on hosts with cgroup v1 hierarchies (v1 and
// hybrid). It is v1's counterpart of clone3(CLONE_INTO_CGROUP): a way into the cgroup that
// does not wait out an RCU grace period.
//
// Writing a pid to cgroup.procs moves a whole thread group, so the kernel takes its global
// cgroup_threadgroup_rwsem for writing, and a writer that finds that percpu rwsem idle first
// waits out an RCU grace period: 5-14 ms on this project's machines, every time no process
// had been moved for a while. Writing "0" to a v1 tasks file moves the writing thread alone,
// and for that the kernel skips the global lock (cgroup_procs_write_start, Linux 6.0): ≈20 µs
// per hierarchy. So a container's init, before it does anything else, moves its own locked
// thread with v1thread.Join; everything the container runs descends from that thread.
//
// ThreadDirs lists the cgroup's directory in every v1 hierarchy, for v1thread.Join.
type ThreadJoiner interface {
	ThreadDirs() []string
}

// ThreadDirs implements ThreadJoiner.
func (m *v1Manager) ThreadDirs() []string {
	m.mu.Lock()
	fresh := m.fresh // New made the cgroup in every hierarchy a moment ago: no need to look
	m.mu.Unlock()
	var dirs []string
	for _, mnt := range m.lay.v1Mounts() {
		if fresh || exists(mnt+m.path) {
			dirs = append(dirs, mnt+m.path)
		}
	}
	return dirs
}

// OpenDir opens the cgroup's directory in the hybrid host's cgroup2 mount, for
// clone3(CLONE_INTO_CGROUP) (see CloneInto); nil without one.
func (m *v1Manager) OpenDir() (*os.File, error) {
	if m.unifiedDir == "" {
		return nil, nil
	}
	f, err := os.OpenFile(m.unifiedDir, os.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open cgroup %s: %w", m.unifiedDir, err)
	}
	return f, nil
}
