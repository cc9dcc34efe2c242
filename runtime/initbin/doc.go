// Package initbin carries hull-init, the container's init linked alone (cmd/hull-init), inside
// hull's one binary, and hands create a file to execute it from.
//
// # What the kernel provides
//
// execve(2) runs a file; execveat(2) (here: /proc/self/fd/N) runs the file behind an fd, so
// what is checked is what runs. A file can be executed only from a mount without noexec, and
// not while anyone holds it open for writing (ETXTBSY). open_tree(2) with OPEN_TREE_CLONE and
// mount_setattr(2) make a detached bind mount of one file whose flags (read-only, exec) only its
// fd sees.
//
// # How hull uses it
//
// `make build` builds cmd/hull-init first and compiles hull with the tag hullinit, which embeds
// it (//go:embed; -overlay gives the compiler the file); a plain `go build ./cmd/hull` embeds
// nothing and Open returns nil: containers then start `hull init`, hull's own binary, as they
// always did. Two ways to execute embedded bytes were measured (2×200 starts of hull-init on
// this 2-core VM, CPU of parent and child together, per start):
//
//	a sealed memfd per container, written from the embedded bytes   2.9 ms
//	a copy written once under the state root, opened per container  1.4 ms
//	(the same file started by path, for reference)                  1.5 ms
//
// The memfd costs its 3 MB of copying and fresh page faults on every start, which is most of
// what the lean init saves (≈2 ms), so hull keeps a copy: <root>/@init/hull-init-<sha256
// prefix>, in a directory of mode 0700 owned by root ('@' is in no container id, so the name
// never collides with one), written by write-temp and rename with mode 0555 (the init of a new
// user namespace runs as an unprivileged host uid), and older builds' copies removed. Each
// create opens it with O_NOFOLLOW and checks it by fstat (a regular file, root's, mode 0555,
// one link, the embedded size) before executing that fd; anything else is written again first.
//
// CVE-2019-5736 (a container's process opening the runtime's binary for writing through
// /proc/<init>/exe) is met as before: the init replaces itself with the stub, from a sealed
// memfd, before any process of the container exists; where another process could reach the
// init (a user namespace joined by path) it runs from a read-only detached bind mount of the
// copy (runtime's spawn_enter.go), and so it does on hosts whose state root is mounted noexec
// (the clone clears noexec), at ≈0.1 ms of wall time for the detached mount's teardown.
// Whoever could change the copy otherwise (root in the host's namespaces, by writing under the
// state root) could change hull itself.
//
// The lean hull (cmd/hull, tag hulllean) carries the full hull the same way and runs it from a
// copy beside the init's, hull-full-<sha256 prefix>, with OpenCopy; where no copy can be
// written (not root), from a sealed memfd: that path is rare (hull's own verbs as non-root)
// and its ≈10 ms do not matter there.
//
// # Try it by hand
//
//	make build && bin/hull --debug run -b . demo 2>&1 | grep hull-init; ls -l /run/hull/@init
//
// # Not covered
//
// Architectures other than the one hull was built for (hull-init is built by the same
// toolchain run, so they always match); content checks beyond fstat (a SHA-256 of 3 MB per
// create would cost ≈2 ms, what the lean init saves).
//
// Next stop: package runtime/initproc, the code that runs from this file.
package initbin
