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
// locked OS thread (never the main thread, which Go cannot retire once it is changed) and clones
// the init from that thread, so the init is born in the joined ones and in the new ones at once
// (clone flags); a user or time namespace to join takes a detour through the stub (below). The
// init re-executes /proc/self/exe and starts its setup at once.
//
// So every container starts two Go programs, and a Go program runs the package initialisers of
// everything it links before main: the init pays for compose-go, nftables, containerd/cgroups and
// the rest although it uses none of them. Package-level work is therefore kept small: hull's own
// packages compile no regexp at init (they compile on first use), and compose-go's JSON-schema
// library, which compiled five metaschemas at init (≈4 ms of CPU in every hull process), is used
// from third_party/jsonschema, patched to compile them on first use. Start-up of `hull init`,
// CPU, medians of 3×100 runs on this 2-core VM: 7.3 ms before, 3.3 ms now; an empty Go program
// takes 0.9 ms and one linking only what the init needs (rootfs, namespaces, stub, seccomp, caps)
// 1.25 ms, which a dedicated init binary could reach. What is left: the remaining package inits
// (distribution/reference's regexps ≈0.7 ms, via compose-go), and the first JSON decode of a spec
// (≈1 ms: encoding/json builds codecs for the whole specs.Spec type graph on first use), paid by
// the parent for config.json and by the init for its bootstrap.
//
// Getting the init into its cgroups must not cost an RCU grace period: writing a pid to
// cgroup.procs takes the kernel's global cgroup_threadgroup_rwsem for writing, and a writer that
// finds it idle waits one out first, 5-14 ms on this machine (crun pays it on every run). So:
//
//   - cgroup v2: the init is born inside, clone3(CLONE_INTO_CGROUP).
//   - cgroup v1: the init's first act is to move its own locked thread into every hierarchy by
//     writing "0" to the tasks files (v1thread.Join), which the kernel does without that
//     lock (≈20 µs each); everything the container runs descends from that thread. On a pure v1
//     host the parent makes the cgroup meanwhile, while the init's Go runtime starts, and names
//     it in the bootstrap. Hybrid hosts add CLONE_INTO_CGROUP for their cgroup2 side.
//   - when the init cannot write the host's cgroup files (a new user namespace, a joined mount
//     namespace), the parent writes every hierarchy's cgroup.procs concurrently (one grace
//     period, not ten) while the init starts.
//
// The parent then sends "placed" (at once when there was nothing to move), and the init waits for
// it right before it needs it (before a cgroup mount, hooks, or exec). Before any process of the
// container can see it, the init replaces itself with the stub, which runs from a sealed memfd:
// the host's hull binary is never reachable from inside (CVE-2019-5736) and the waiting process
// is a few KB.
//
// # The messages between parent and init (protocol.go)
//
// One SOCK_STREAM socketpair, JSON lines. The init's end is close-on-exec, so the parent sees EOF
// exactly when the stub has replaced the init.
//
//	hull create (parent)                         hull init (child, pid 1 of the container)
//	  clone(CLONE_NEW*) ─────────────────────────▶ born; Go starts (≈3 ms); waits for its bootstrap
//	  (pure v1: mkdir the cgroup meanwhile)
//	  ── bootstrap {spec, pid, cgroupDirs, ...} ─▶ v1: "0" > tasks in each of cgroupDirs
//	  otherwise: pid → cgroup.procs (all at once)   mounts (rootfs.Plan.Mount) ...
//	  oom_score_adj                                 ... until the first cgroup mount, where it
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
// Then `hull start` (or run, from the state it holds in memory) opens the exec fifo for reading; the stub, blocked in open(2) for writing,
// wakes, writes one byte, applies uid/gid, capabilities, no_new_privs and seccomp in runc's order,
// and execve()s the user's process. `hull start` waits with poll(2) on the fifo and a pidfd, never
// with a sleep, and removes the fifo: the fifo's existence is what distinguishes "created" from
// "running".
//
// # User and time namespaces: the stub joins them
//
// setns(2) into a user or time namespace is allowed only to a single-threaded process (EINVAL,
// EUSERS), which a Go program never is, while the thread-wise kinds (pid, net, ipc, uts, cgroup,
// mount) can be joined by one locked thread. So hull lets its C stub, single-threaded and free of
// any runtime, join those two, from fds hull opened and checked (namespaces.Open), before anything
// else runs in it:
//
// create, when the spec names a user (or time) namespace by path (spawn_enter.go). The new
// namespaces must be made after the user namespace is joined, so that it owns them and its root
// can mount in them; so the stub makes them, like runc's nsexec but without cgo:
//
//	hull create, thread in the joined pid/net/ipc/uts/mount namespaces (setns, mount last)
//	  └─ clone, execve(sealed stub) "enter <flags> <hull-exe-fd> <userns-fd> [<timens-fd>]"
//	       stub: setgroups(0); setns(user); setns(time); setresgid/setresuid(0, the ns's root)
//	             clone(CLONE_NEW* | CLONE_PARENT | CLONE_PIDFD)
//	       │      └─ hull's child (CLONE_PARENT): setsid; execveat(hull-exe-fd) "hull init"
//	       └─ "0" + SCM_RIGHTS(pidfd) on the sync socket ──▶ create reads the pid from its fdinfo
//	          and goes on as usual (the init is hull's child: pidfds, exit status)
//
// hull's binary is passed as a detached read-only bind mount of it (open_tree, mount_setattr):
// another process of the joined user namespace that reaches the init before it becomes the
// stub finds a read-only /proc/<pid>/exe (CVE-2019-5736). The exec fifo is given to the joined
// namespace's root, read from the init's uid_map.
//
// exec (execin.go): the thread joins the container's other namespaces and clones the stub as
// always, with the user and time namespace fds as extra arguments; the stub joins them first
// (user first: it gives the capabilities the rest needs), then waits, transitions and execve()s
// as for any exec. In a user namespace it holds every capability, so the process's capabilities
// are bounded by its spec alone, as the init's are; setgroups is skipped where the namespace
// denies it, and a --tty pty is given to the namespace's root.
//
// Cost, measured on this 2-core VM (noisy; medians of 60-300 interleaved runs): exec into a
// container with a user namespace 11.8 ms vs 12.5 ms without one (no difference in the noise);
// create joining a user namespace 29.4 ms vs 31.4 ms creating one and 24.8 ms without any: the
// stub's exec and clone (≈1.0 ms) replace Go's clone, which writes the id maps (≈1.4 ms).
// Containers that join neither kind take the paths they always took.
//
// # State
//
// The OCI states and their legal transitions are one table (state.go). Nothing trusts a state file
// alone: on load the status is derived from the kernel — is the pid alive with the same start time
// (so a reused pid can't fool us), does the exec fifo still exist, is the cgroup frozen.
// State files are written by write-temp and rename, without fsync: they describe processes, and a
// crash that could lose the write ends those too. Commands that read a state only for its status
// and pid decode a brief form of the saved spec (loadBrief): a cold decode of the whole spec costs
// ≈0.65 ms, and every hull command is a fresh process.
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
// A time namespace joined by path together with a new user namespace (refused: the stub would
// have to make the user namespace and wait for its maps); rootless hull (the stub joins the user
// namespace after the Go thread joined the others, which needs a privileged hull); seccomp
// notify; checkpoint/restore.
//
// Next stop: package supervisor, which keeps many of these containers alive.
package runtime
