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
// the new ones at once (clone flags). The clone first runs the stub in "enter" mode: single-threaded
// and blocked in read(2), it is moved into the container's cgroups cheaply (a v1 cgroup.procs write
// for one quiet thread costs ~0.1 ms; for a Go program starting its threads ~10 ms, times ten
// hierarchies), then one byte from the parent turns it into `hull init` (execveat of the hull binary
// by fd). Before any process of the container can see it, the init replaces itself with the stub
// again, from a sealed memfd: the host's hull binary is never reachable from inside (CVE-2019-5736)
// and the waiting process is a few KB.
//
// # The messages between parent and init (protocol.go)
//
// One SOCK_STREAM socketpair, JSON lines. The init's end is close-on-exec, so the parent sees EOF
// exactly when the stub has replaced the init.
//
//	hull create (parent)                         hull init (child, pid 1 of the container)
//	  clone(CLONE_NEW*) ─────────────────────────▶ born as the stub (enter mode), blocked in read(2)
//	  cgroup: write pid to cgroup.procs (all hierarchies at once)
//	  ── one byte ───────────────────────────────▶ execveat(hull binary fd) → hull init
//	  ── bootstrap {spec, rootfs, pid, ...} ─────▶ unshare(CLONE_NEWCGROUP) if asked
//	                                               mounts (rootfs.Plan.Mount), hostname
//	  ◀──────────────────── step {op,args,...}    (one per kernel step, only with --debug)
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
// # Not covered yet
//
// Joining an existing user namespace by path; seccomp notify; checkpoint/restore.
//
// Next stop: package supervisor, which keeps many of these containers alive.
package runtime
