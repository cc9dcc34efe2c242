// Package initproc is the container side of package runtime: the init that create clones into
// the new namespaces, and the messages it exchanges with create over their socketpair. It is a
// stop of the tour inside runtime's (read runtime's doc.go first: the process model and the
// message diagram are drawn there).
//
// # What the kernel provides
//
// A process born by clone(2) with CLONE_NEW* flags is the first of its namespaces: it may mount
// in its own mount namespace (mount(2), pivot_root(2)), name its UTS namespace
// (sethostname(2)), unshare a cgroup or time namespace once it sits where those should be rooted
// (unshare(2)), and finally replace itself with another program (execveat(2)). Everything it
// does before that exec is invisible to the container's own processes, which do not exist yet.
//
// # How hull uses it
//
// Main runs as `hull init` (hull's binary re-executed) or as hull-init, the same code linked
// alone (cmd/hull-init) and embedded in hull by `make build` (runtime/initbin). Every container
// start runs one init, and a Go program runs the package initialisers of everything it links
// before main: hull's own binary links the CLI, compose-go, the image store, nftables and
// containerd's cgroups library (≈3.2 ms of CPU to start, on this project's 2-core VM), while
// this package links only rootfs, namespaces, cgroups/v1thread, the stub, seccomp and caps
// (≈1.2 ms; an empty Go program takes 0.8 ms). cmd/hull-init's test keeps it that way.
//
// The init reads its Bootstrap, moves its own thread into its v1 cgroups (v1thread), builds the
// root filesystem (rootfs.Plan), asks the parent to run the create-time hooks, pivots, applies
// sysctls, the console, cwd and rlimits, and becomes the stub (runtime/stub) with the process's
// identity, capabilities, LSM labels (labels.go: what the host, read by the parent, can apply)
// and seccomp filter compiled into its program. Each kernel
// step goes to the parent as a "step" Message, which the parent's --debug and --explain print.
// The parent (runtime) uses this package's protocol types, HostLSM, StubProgram and LookPath for
// exec, StubSteps for --dry-run, and RunHooks for the hooks it runs itself.
//
// # Try it by hand
//
//	hull --debug run -b . demo 2>&1 | grep 'by=init'
//
// # Not covered
//
// Anything the parent can do from the host: cgroups beyond the thread join, networking, state
// files; and the host-side hooks (prestart, createRuntime, poststart, poststop), which the parent
// runs with RunHooks.
//
// Next stop: package runtime/stub, which this init becomes.
package initproc
