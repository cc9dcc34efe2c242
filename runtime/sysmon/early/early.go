// Package early tunes the Go runtime for a short-lived hull from a package init, so a program
// gets it by importing this package for its side effect. Three changes:
//
//   - it grows the main goroutine's stack to 16 KB at once (package sysmon, stack.go);
//   - it quiets Go's sysmon thread (package sysmon);
//   - it runs Go code on one P (GOMAXPROCS 1) unless the GOMAXPROCS environment variable says
//     otherwise. With a second, idle P, Go wakes another thread each time a goroutine becomes
//     runnable, to look for work it will rarely find in a program that mostly waits on the
//     kernel: in this 2-core VM each of those wake-ups is an interrupt through the hypervisor.
//     A `hull run` of /bin/true used ≈1 ms less CPU on one P (9.4 -> 8.2 ms, 200 interleaved
//     runs; voluntary switches 67 -> 55, involuntary 19 -> 12) and no more wall time: its
//     goroutines wait on system calls, which hand their P to another thread as before. The
//     commands that run long or compute in parallel (the supervisor daemon, image pulls) take
//     Go's default back with Parallel.
//
// Why an init: a Go program runs every package init before main, and in hull those take about
// 2 ms (protobuf descriptors, cgroup stats types, cilium/ebpf, ...), during which sysmon naps
// 20 µs at a time and the second P's thread spins: from main, both changes would come late.
// Go runs inits in dependency order, choosing among the ready packages by import path, so this
// one (which needs only runtime, syscall and package sysmon) runs among the first. Only
// cmd/hull imports it: hull-init, the container's Go init, must not widen anything.
package early

import (
	"runtime"
	"syscall"

	"github.com/hullrt/hull/runtime/sysmon"
)

func init() {
	sysmon.GrowStackTo16K()
	sysmon.Quiet()
	if !userChose() {
		runtime.GOMAXPROCS(1)
	}
}

// Parallel gives Go's default GOMAXPROCS (the CPUs this process may use) back to a command
// that runs long or computes in parallel. A GOMAXPROCS the user set is left as it is.
func Parallel() {
	if !userChose() {
		runtime.SetDefaultGOMAXPROCS()
	}
}

// userChose reports whether the environment sets GOMAXPROCS, which Go applied at start-up.
func userChose() bool {
	_, set := syscall.Getenv("GOMAXPROCS")
	return set
}
