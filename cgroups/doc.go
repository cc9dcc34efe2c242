// Package cgroups is the second stop of hull's tour: how the kernel limits, counts, freezes and
// kills a group of processes as one.
//
// # What the kernel provides
//
// A control group is a directory in a cgroup filesystem (cgroups(7)). mkdir(2) creates one and
// the kernel fills it with files; writing a pid to cgroup.procs moves that process (and its
// future children) in; writing a value to a controller's file sets a limit; reading one reports
// usage; rmdir(2) removes an empty group. There is no other system call: the files are the API.
//
// Version 1 mounts one hierarchy per controller (or per few), usually under /sys/fs/cgroup/<name>:
// memory.limit_in_bytes in the memory hierarchy, cpu.cfs_quota_us in cpu, pids.max in pids,
// freezer.state in freezer, devices.allow/deny in devices. A process has one place in each
// hierarchy, so a container is the same directory name made in every one of them. Version 2
// (Documentation/admin-guide/cgroup-v2.rst) has a single tree at /sys/fs/cgroup: memory.max,
// cpu.max, pids.max, cgroup.freeze and cgroup.kill all sit in one directory, and a controller's
// files appear there only when the parent lists it in cgroup.subtree_control. v2 has no
// devices files; a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the directory decides each
// open and mknod. "Hybrid" hosts (this project's build machine) mount the v1 controllers plus an
// almost empty cgroup2 tree at /sys/fs/cgroup/unified.
//
// # How hull uses it
//
// The OCI spec's linux.cgroupsPath names the group and linux.resources its limits, which
// `update` may change later. "In the case of an absolute path (starting with /), the runtime
// MUST take the path to be relative to the cgroups mount point": hull takes only absolute
// paths (a relative one is refused, as "Runtimes MAY consider certain cgroupsPath values to be
// invalid, and MUST generate an error"), and joins the same path in every hierarchy. New makes the directory in every hierarchy one level at a time and remembers
// which levels it made, copies cpuset.cpus and cpuset.mems down on v1 (a new cpuset group is
// empty and refuses tasks with ENOSPC), enables controllers top-down on v2, then calls Set.
// Set translates the spec into a list of file writes (v1Writes, v2Writes: pure and
// table-tested, including runc's v1 to v2 conversions), checks that every file exists, and
// only then writes, so a spec asking for something the host lacks (hugetlb limits where
// there is no hugetlb hierarchy) fails with an error naming the field and file, wrapping
// errors.ErrUnsupported, before anything changes. Controllers that the spec does not use may
// be missing. In hybrid mode resources go to v1, as runc does; the process also joins the
// cgroup2 side, which gives SIGKILL an atomic cgroup.kill. Delete removes only the
// directories New made, deepest first; Created returns them for the runtime's state file,
// and Load rebuilds a manager from that list in a later `hull delete`.
//
// Moving a process in is where the time goes: a cgroup.procs write takes the kernel's global
// cgroup_threadgroup_rwsem for writing, and the first writer after a quiet spell waits out an RCU
// grace period (5-14 ms here). Apply writes every hierarchy at once, so they share one grace
// period; CloneInto (cgroup2) lets a process be born inside; ThreadJoiner and v1thread.Join (v1) let
// a thread move itself by writing "0" to tasks, which the kernel does without that lock.
//
// containerd/cgroups/v3 does the reading and the harder parts: Stats, the v1 freezer, process
// listing, joining every v1 hierarchy with its EINVAL retry, and compiling the device rules into
// eBPF. hull writes the limit files itself so that each write is one Recorder step, which
// `hull --debug` prints as it happens.
//
// # Try it by hand
//
//	mkdir /sys/fs/cgroup/demo && echo 64M > /sys/fs/cgroup/demo/memory.max && echo $$ > /sys/fs/cgroup/demo/cgroup.procs
//
// That is cgroup v2; on v1 the same is mkdir /sys/fs/cgroup/memory/demo and memory.limit_in_bytes.
// Move the shell back out (echo $$ > /sys/fs/cgroup/cgroup.procs) before rmdir.
//
// # Not covered
//
// The systemd cgroup driver (hull writes cgroupfs directly, so do not point it into a slice
// that systemd manages); thread-mode v2 cgroups; memory.useHierarchy and checkBeforeUpdate;
// v2 swappiness, OOM-killer disabling, realtime CPU and net_cls/net_prio, which v2 does not
// have (asking for them is an error); memory.kernel, which the spec deprecates (ignored).
// On v2, an `update` that changes device rules stacks a new eBPF program on the old ones
// (BPF_F_ALLOW_MULTI), so an update can only narrow access. Changing v1 device rules on a
// running container briefly denies everything between "deny all" and the allows.
//
// Next stop: package rootfs, which builds the filesystem the processes in this group will see.
package cgroups
