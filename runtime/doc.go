// Package runtime runs one OCI container through its lifecycle, built on the four leaves
// (namespaces, cgroups, rootfs, netns). It is the fifth stop of the tour.
//
// # The process model
//
// Go cannot enter a mount or user namespace from a multi-threaded process, and a Go program that
// merely waits costs ≈0.85 MB PSS, while a container in "created" should cost ≤0.3 MB. So a
// container is made by three programs, each doing what it is best at:
//
//	hull create (Go, host side)      create.go    validates the bundle, makes the cgroup, clones the init
//	hull init   (Go, container side) init.go      born inside the new namespaces: mounts, pivot_root, checks
//	stub        (C, no libc)         stub/        waits for `hull start`, drops privileges, execve()s
//
// The parent joins existing namespaces (linux.namespaces entries with a path) with setns(2) on a
// locked OS thread and clones the init from that thread, so the init is born in the joined ones and in
// the new ones at once (clone flags). The init re-executes /proc/self/exe and starts its setup at
// once, while the parent moves it into its cgroups: on cgroup v1 the first cgroup.procs write on an
// idle kernel rwsem (cgroup_threadgroup_rwsem) waits out an RCU grace period, 5-14 ms on this
// machine, so the parent writes every hierarchy concurrently (one grace period, not ten) and the
// init only waits for "placed" right before it needs it (before a cgroup mount, hooks, or exec).
// Before any process of the container can see it, the init replaces itself with the stub, which
// runs from a sealed memfd: the host's hull binary is never reachable from inside (CVE-2019-5736)
// and the waiting process is a few KB.
//
// # The messages between parent and init (protocol.go)
//
// One SOCK_STREAM socketpair, JSON lines. The init's end is close-on-exec, so the parent sees EOF
// exactly when the stub has replaced the init.
//
//	hull create (parent)                         hull init (child, pid 1 of the container)
//	  clone(CLONE_NEW*) ─────────────────────────▶ born; waits for its bootstrap
//	  ── bootstrap {spec, rootfs, pid, ...} ─────▶ mounts (rootfs.Plan.Mount) ...
//	  cgroup: pid → cgroup.procs (all at once)      ... until the first cgroup mount, where it
//	  ── placed {} ──────────────────────────────▶ waits for this; unshare(CLONE_NEWCGROUP) if asked
//	                                               the rest of the mounts, hostname
//	  ◀──────────────────── step {op,args,...}    (one per kernel step, with --debug/--explain/--trace)
//	  ◀──────────────────── hooks {}              (only if prestart/createRuntime hooks exist)
//	  run prestart, createRuntime hooks
//	  ── hooksDone {} ───────────────────────────▶ createContainer hooks, pivot_root, sysctl,
//	                                               masked/readonly paths, console, cwd, rlimits
//	  ◀──────────────────── ready {}              execveat(stub memfd)
//	  EOF: the container is "created" ◀─────────── (socket closed by exec)
//	  ◀──────────────────── error {msg}           at any point: parent kills, cleans up, fails
//
// Then `hull start` opens the exec fifo for reading; the stub, blocked in open(2) for writing,
// wakes, writes one byte, applies uid/gid, capabilities, no_new_privs and seccomp in runc's order,
// and execve()s the user's process. `hull start` waits with poll(2) on the fifo and a pidfd, never
// with a sleep, and removes the fifo: the fifo's existence is what distinguishes "created" from
// "running".
//
// # State
//
// The OCI states and their legal transitions are one table (state.go). Nothing trusts a state file
// alone: on load the status is derived from the kernel — is the pid alive with the same start time
// (so a reused pid can't fool us), does the exec fifo still exist, is the cgroup frozen.
// State files are written by write-temp, fsync, rename.
//
// # Try it by hand
//
//	hull spec && hull --debug create -b . demo && hull state demo && hull start demo && hull delete -f demo
//
// Or have each step explained: `hull --explain run -b . demo` prints, for every clone, mount,
// cgroup write and exec, its result and time, the shell command that does the same, and why
// (explain.go holds that table, trace.go the events; `--dry-run` prints the plan without root).
//
// # Not covered yet
//
// Joining an existing user namespace by path; seccomp notify; checkpoint/restore.
//
// Next stop: package supervisor, which keeps many of these containers alive.
package runtime
