// Package early quiets Go's sysmon thread (package sysmon) from a package init, so a program
// gets it by importing this package for its side effect. Why an init: a Go program runs every
// package init before main, and in hull those take about 2 ms (protobuf descriptors, cgroup
// stats types, cilium/ebpf, ...), during which sysmon naps 20 µs at a time: from main, Quiet
// would come after some 20 of its wake-ups. Go runs inits in dependency order, choosing among
// the ready packages by import path, so this one (which needs only runtime and syscall) runs
// among the first. Only cmd/hull imports it: hull-init, the container's Go init, must not widen
// anything.
package early

import "github.com/hullrt/hull/runtime/sysmon"

func init() { sysmon.Quiet() }
