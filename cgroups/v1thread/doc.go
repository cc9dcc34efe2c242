// Package v1thread moves the calling thread into a container's cgroup v1 hierarchies: the one
// cgroup step the container's init takes itself, kept apart from package cgroups so that the
// init (runtime/initproc) does not link containerd/cgroups and its protobuf types, whose package
// initialisers every start of the init would pay for.
//
// # What the kernel provides
//
// Writing a pid to a v1 hierarchy's cgroup.procs moves a whole thread group, under the kernel's
// global cgroup_threadgroup_rwsem, and a writer that finds that percpu rwsem idle first waits out
// an RCU grace period (5-14 ms on this project's machines). Writing "0" to a v1 tasks file moves
// the writing thread alone, and for that the kernel skips the global lock
// (cgroup_procs_write_start, Linux 6.0): ≈20 µs per hierarchy.
//
// # How hull uses it
//
// The parent lists the directories (cgroups.ThreadJoiner) and sends them in the init's
// bootstrap; the init, whose thread is locked for good, calls Join first thing. Everything the
// container runs descends from that thread. cgroups' doc.go tells the rest of the story.
//
// # Try it by hand
//
//	mkdir /sys/fs/cgroup/pids/demo && sh -c 'echo 0 > /sys/fs/cgroup/pids/demo/tasks; cat /proc/self/cgroup'
//
// # Not covered
//
// cgroup v2, which has no tasks file: there the init is born inside (clone3 CLONE_INTO_CGROUP).
//
// Next stop: back to package cgroups' doc.go, or on to package rootfs.
package v1thread
