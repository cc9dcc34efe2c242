// Package sysmon quiets the Go runtime's monitor thread in a short-lived hull, and keeps every
// process hull forks out of the change. A side stop on the tour: what a Go program costs the
// kernel before it does anything of its own.
//
// # What the kernel provides
//
// Every thread has a timer slack (prctl(2) PR_SET_TIMERSLACK; /proc/<tid>/timerslack_ns,
// writable for another thread with CAP_SYS_NICE, see proc(5)): how much later than asked the
// kernel may end the thread's timed sleeps, so it can batch their wake-ups. The default is
// 50 µs. A child inherits the slack of the thread that forked it, across execve(2) too.
//
// # Why hull touches it
//
// Every Go process has sysmon, a thread that watches the scheduler. It naps 20 µs at a time
// until 50 naps in a row found nothing to do, then doubles the nap up to 10 ms. A `hull run`
// lives about 8 ms, nearly all of it in those first 50 naps: sysmon woke about 60 times per
// run, 40% of the process's context switches (perf sched_switch, 40 runs), and each wake-up in
// a VM costs a timer interrupt through the hypervisor. Widening sysmon's slack to 1 ms (Quiet)
// lets the kernel batch those naps: a `hull run` of /bin/true took 9.3 -> 8.2 ms of CPU
// (150 interleaved runs each; voluntary switches 121 -> 85). Called from a package init
// (package early) rather than from main, it comes before the ~2 ms of hull's other package
// inits: sysmon's wake-ups per run 20 -> 14. sysmon's duties (preempting a goroutine after
// 10 ms, taking a P back from a long system call, polling the network when no one has for
// 10 ms) tolerate a few milliseconds; hull's own threads keep the host's slack.
//
// The slack is 3 ms, not 1: on one P (package early), each time sysmon wakes while a thread
// sits in a blocking system call (clone, mount, a cgroup write) it takes the P back and, with
// no other thread idle or spinning, wakes one to look for work it rarely finds. At 3 ms those
// wake-ups mostly fall after the call has returned. 400 interleaved runs, CPU: `hull run`
// 8.64 -> 8.29 ms (crun 8.80), voluntary switches 56.5 -> 53.6; create/start/kill/delete
// 15.95 -> 15.38 ms, wall 17.7 -> 17.1 ms; a run with a user namespace (the Go init's way)
// 12.5 -> 12.1 ms, wall 12.4 -> 11.9 ms. A goroutine that waits for the P meanwhile waits up
// to 3 ms for it instead of 1 (hull's goroutines mostly wait on the kernel, not on each other).
//
// # Keeping it out of the containers
//
// A thread sysmon starts (it does when it hands a P to an M and none is idle) inherits sysmon's
// slack, and so would a process forked from that thread: a container's process, a hook. Every
// place hull forks (or execs another hull) runs the fork on a thread set back to the host's
// slack first (WithHostSlack).
//
// # The other idle thread
//
// sysmon is not the only thread that wakes for nothing. With GOMAXPROCS 2 (this VM's CPUs), Go
// wakes a thread for the idle P each time a goroutine becomes runnable, to look for work.
// Package early also runs hull on one P, unless GOMAXPROCS is set: ≈1 ms less CPU per
// `hull run`, none of it wall time. The supervisor daemon and image pulls take every CPU back.
//
// # Stacks
//
// Go starts a goroutine on a 2 KB stack and doubles it by copying whenever a call needs more;
// each copy walks every frame with the binary's tables, pages a fresh process faults in. A
// `hull run` copied its stacks five times (main goroutine 2 -> 4 -> 8 -> 16 KB, the setup
// thread's 2 -> 4 -> 8 KB). GrowStackTo16K (from package early, before the other inits) and
// GrowStackTo8K (the setup thread's first call) grow each once, while it is shallow: three
// copies, ≈0.1 ms and 17 page faults less per `hull run` (500 interleaved runs).
//
// # Try it
//
//	for t in /proc/$(pgrep -n hull)/task/*; do cat /proc/${t##*/}/timerslack_ns; done  # a `hull run` waiting
//
// # Not covered
//
// Every hull process quiets its sysmon, the daemon too: once its first milliseconds are over,
// sysmon naps up to 10 ms at a time (13 with the slack) or sleeps until woken.
// The Go init of the containers that need one (hull-init, which does not import package early,
// or `hull init`, which does) execs the container's program from its main thread, which keeps
// the host's slack.
package sysmon
