// Package runtime runs one OCI container through its lifecycle, built on the four leaves
// (namespaces, cgroups, rootfs, netns). It is the fifth stop of the tour.
//
// # The process model
//
// Go cannot enter a mount or user namespace from a multi-threaded process, and a Go program that
// merely waits costs ≈0.85 MB PSS, while a container in "created" should cost ≤0.3 MB. So a
// container is made by three programs, each doing what it is best at (or, where it can be, by
// two: see "the direct way" below):
//
//	hull create (Go, host side)      create.go    validates the bundle, makes the cgroup, clones the init
//	hull-init   (Go, container side) initproc/    born inside the new namespaces: mounts, pivot_root, checks
//	stub        (C, no libc)         stub/        waits for `hull start`, drops privileges, execve()s
//
// The parent joins existing namespaces (linux.namespaces entries with a path) with setns(2) on a
// locked OS thread (never the main thread, which Go cannot retire once it is changed) and clones
// the init from that thread, so the init is born in the joined ones and in the new ones at once
// (clone flags); a user or time namespace to join takes a detour through the stub (below). The
// init executes hull-init and starts its setup at once.
//
// So every container starts two Go programs, and a Go program runs the package initialisers of
// everything it links before main. The init is therefore a program of its own: package initproc
// holds all of the container side, and cmd/hull-init links it alone (rootfs, namespaces,
// cgroups/v1thread, the stub, seccomp, caps: 103 packages against hull's 402, none of compose-go,
// nftables, the image store or containerd/cgroups; its test keeps it so). `make build` embeds it
// in hull, which writes it out once per state root and executes it from there (package initbin
// says how, and why not from a memfd); a plain `go build ./cmd/hull` embeds nothing, and its
// containers start `hull init`, hull's own binary re-executed through /proc/self/exe, as before.
// Start-up to the init's first read, CPU, perf stat -r 200 on this 2-core VM: `hull init`
// 3.2 ms, hull-init 1.2 ms, an empty Go program 0.8 ms. A loop of `hull run` /bin/true (perf
// stat, 3×50 runs interleaved, the loop's own cost subtracted) went from ≈17.7 to ≈14.4 ms of
// CPU per container (crun ≈6.1 ms) and from ≈15.4 to ≈13.0 ms of wall time (crun ≈7.9 ms).
// The parent is lean the same way: `make build`'s bin/hull is cmd/hull built with the tag
// hulllean, which leaves out of this package the hull networks (network.go: nftables, netlink)
// and the image store (image.go: go-containerregistry), and out of cmd/hull the supervisor. It
// carries the full hull, and hands it every command that needs those, before changing anything
// (ErrNeedsFullHull; cmd/hull/lean.go). `hull --version`, hyperfine -N, 300 runs: lean 2.1 ms
// of CPU, full 3.5 ms, crun 2.5 ms. hull's packages compile no regexp at init either, and
// compose-go's JSON-schema library is used from third_party/jsonschema, patched to compile its
// metaschemas on first use. And neither program reads a spec with encoding/json: its first
// decode builds field tables and encoders for every one of the spec's ≈80 types, ≈0.8 ms of
// CPU, which the parent paid for config.json and the init again for its bootstrap. Package
// specjson decodes and encodes with code easyjson generated (≈0.2 ms cold), and hands what
// it cannot promise to read exactly as encoding/json would to encoding/json (see there); the
// state file and the bootstrap carry the spec through it. (Built with GOEXPERIMENT=jsonv2,
// encoding/json itself takes ≈0.55 ms.) The state file and the parent/init messages have
// generated codecs too (statefile.go, initproc/protocol.go): encoding/json's tables for them
// alone cost the two programs ≈0.6 ms. Two more costs of a Go parent were found with perf's
// sched_switch events (≈230 thread switches per `hull run`): Go enables each caught signal
// with a round trip to a thread of its own, so `hull run` catches the standard signals only
// (forward.go), and a cgroup's member list is read from cgroup.procs, not by the library's
// stat of every file (cgroups.procsUnder). What is left is mostly the Go runtime's own
// start-up in both programs: the CPUID instructions it runs trap to this VM's hypervisor
// (≈0.2 ms), it reads /proc/self/mountinfo for its cgroup CPU limit (≈0.1 ms, even with
// GOMAXPROCS set), its sysmon thread wakes every 20 µs while the program is busy, and the
// first touch of each page of its heap and stacks faults (perf: ≈1.5 ms of the parent's).
// The direct way (below) removes the second program. Of the one left, the thread hand-offs
// cost most: a `hull run` of /bin/true switches threads ≈150 times (crun: 14), and in this VM
// each wake-up of a thread on the other CPU is an interrupt through the hypervisor. About 60
// are sysmon's 20 µs naps; the 18 signals forwarded cost a round trip each to Go's signal
// thread (forward.go; a build that caught none switched 30 times and used 0.5 ms of CPU less
// per run); the rest are Go handing its Ps between threads, and waking a thread for its idle
// second P each time a goroutine becomes runnable. So hull runs on one P (package
// runtime/sysmon/early; the supervisor and image pulls take every CPU back): ≈1 ms less CPU
// per `hull run`, no more wall time.
//
// # Without a Go init: the direct way (direct.go)
//
// Most containers ask for nothing that only a process inside them can do, and for those hull
// starts no hull-init at all: the container's first process is the stub from the clone on, and
// a thread of hull does the init's work from inside the container's namespaces. Go cannot move a
// process into a mount namespace, but one locked thread can enter it once it stops sharing its
// root and cwd (unshare(CLONE_FS)), and setns(2) through the stub's pidfd enters all the new
// namespaces at once. pivot_root(2) moves the root of every task of the namespace whose root was
// the old one: the stub's with the thread's.
//
//	hull create, locked thread T                        stub (C), pid 1 of the container
//	  clone(CLONE_NEW*; v2: into its cgroup) ──────────▶ "await": close_range(3.., CLOEXEC),
//	                                                       v1: "0" > tasks (each hierarchy),
//	                                                       unshare(CLONE_NEWCGROUP)
//	  ◀──────────────────────────────────────────────── "p"
//	  oom_score_adj; setns(pidfd, mnt|uts|ipc|net|cgroup)
//	  mounts (/proc with pidns=<the stub's>), hostname, sysctls,
//	  masked and read-only paths, read-only root, pivot_root
//	  LookPath, seccomp, prlimit(stub); a terminal: pty from
//	  the container's devpts, master → --console-socket
//	  ── umask, SCM_RIGHTS(program, cwd[, pty]) ────────▶ umask, fchdir(cwd), pty as stdio and
//	                                                       controlling tty, no parent-death signal
//	  ◀──────────────────────────────────────────────── EOF: "created"
//	  T ends (Go retires it)                              waits on the exec fifo, as ever
//
// Two things differ from the init's way. T is not in the container's pid namespace, so the
// container's /proc is mounted with procfs's pidns= option (Linux 6.18), and everything that
// names a file through /proc/self/fd/N happens before pivot_root (rootfs.FinishBeforePivot):
// afterwards T sees only the container's /proc, where it has no "self". And the stub, not a Go
// init, keeps the host's fds out of the container (CLOSE_RANGE_CLOEXEC, Linux 5.11).
// prestart and createRuntime hooks run as on the init's way, in hull's own namespaces: T hands
// them to another goroutine, which Go never runs on T. Containers that ask for namespaces by
// path, a user or time namespace, createContainer or startContainer hooks (which run inside
// the container) or --no-pivot take the init's way, as do all on kernels without
// those two features (before 6.18, one with a new pid namespace). TestDirectSetupMatchesInit runs one container each way and
// compares what they see inside, mount table, cgroups, credentials, limits and /dev included.
// Cost, interleaved `hull run` of /bin/true (200 each, this 2-core VM, pure v1 view): CPU
// 10.0 -> 8.1 ms, wall 8.6 -> 7.6 ms (crun: 7.2 ms CPU, 12.9 ms wall in the same run).
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
// # The messages between parent and init (initproc/protocol.go)
//
// One SOCK_STREAM socketpair, JSON lines. The init's end is close-on-exec, so the parent sees EOF
// exactly when the stub has replaced the init.
//
//	hull create (parent)                         hull-init (child, pid 1 of the container)
//	  clone(CLONE_NEW*) ─────────────────────────▶ born; Go starts (≈1.2 ms); waits for its bootstrap
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
// wakes, writes one byte, applies uid/gid, capabilities, the LSM labels, no_new_privs and seccomp
// in runc's order, and execve()s the user's process. `hull start` waits with poll(2) on the fifo and a pidfd, never
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
//	  └─ clone, execve(sealed stub) "enter <flags> <init-exe-fd> <userns-fd> [<timens-fd>]"
//	       stub: setgroups(0); setns(user); setns(time); setresgid/setresuid(0, the ns's root)
//	             clone(CLONE_NEW* | CLONE_PARENT | CLONE_PIDFD)
//	       │      └─ hull's child (CLONE_PARENT): setsid; execveat(init-exe-fd) "hull init"
//	       └─ "0" + SCM_RIGHTS(pidfd) on the sync socket ──▶ create reads the pid from its fdinfo
//	          and goes on as usual (the init is hull's child: pidfds, exit status)
//
// The init's binary (hull-init, or hull's own in a plain build) is passed as a detached
// read-only bind mount of it (open_tree, mount_setattr): another process of the joined user
// namespace that reaches the init before it becomes the stub finds a read-only
// /proc/<pid>/exe (CVE-2019-5736). The exec fifo is given to the joined
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
// # LSM labels (initproc/labels.go, execlabels.go)
//
// process.apparmorProfile and process.selinuxLabel are labels the kernel applies at a process's
// next execve once written to its /proc/thread-self/attr exec file; the stub writes them (see
// package stub), for create and exec alike, so the user's program is the first to run under them.
// exec takes the labels its process JSON names and, for one it leaves empty, the container's
// (runc's rule): `hull exec web sh` runs as confined as web's own process. hull reads on the host
// whether the module is on (/sys/module/apparmor/parameters/enabled, /sys/fs/selinux), only when
// a label is asked for, and refuses an AppArmor profile missing from securityfs's profiles list
// before making anything. On a host without the module the label is skipped, as crun does (runc
// refuses an SELinux label without SELinux and fails writing an AppArmor profile without
// AppArmor; youki refuses the profile), and --explain and --trace show the step as "skipped",
// not as done.
// linux.mountLabel is not applied (see package rootfs).
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
