// Package hostrt gives the supervisor this host's real implementations of what it declares:
// hull's runtime in-process (Runtime), root filesystems from local directories (LocalImages),
// hull networks (Networks). Only cmd/hull uses it; the supervisor's tests use fakes instead.
//
// Exits: the daemon creates containers in-process, so every container's init is the daemon's
// child. Runtime.Wait polls a pidfd through Go's netpoller (no thread per replica) and, once it is
// readable, reaps the child with wait4 for its exit code or signal. A container adopted from an
// earlier daemon is not our child (it was reparented when that daemon died): its pidfd still says
// when it ends, but wait4 answers ECHILD and the status is unknowable; the cgroup's OOM-kill
// count still tells an OOM kill, which is recorded with the peak memory against the limit.
package hostrt
