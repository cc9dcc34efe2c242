//go:build hulllean

package main

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/initbin"
	"github.com/hullrt/hull/runtime/sysmon"
)

// The lean hull: `make build`'s bin/hull links the runtime only (runc's verbs), and carries
// the full hull, built from this same package without the tag hulllean, for everything else:
// hull's own verbs (orchestratorVerbs), create and run with --image, events without a
// container, and the containers on hull networks or from images (runtime.ErrNeedsFullHull).
// Those it hands over whole, before changing anything: handOff executes the full hull with
// the same arguments and environment, so what runs is exactly what `go build ./cmd/hull`
// gives. Why: a Go program pays at start-up for every package it links (their init functions,
// the runtime's tables, page faults); the network and image code and the supervisor doubled
// that, for every `hull state` that podman runs (docs/benchmarks.md has the numbers).

// fullHull is bin/hull-full, given to the compiler with -overlay (never in the source tree);
// fullSum names its cached copy (the first 16 hex digits of its SHA-256, set with -X).
//
//go:embed hull-full
var fullHull []byte

var fullSum string

func orchestratorCommand(string) func(context.Context, *env, []string) (int, error) {
	return func(context.Context, *env, []string) (int, error) { return 0, runtime.ErrNeedsFullHull }
}

func (f *imageFlags) bundle(context.Context, *env, string, []string) (string, func(), error) {
	return "", nil, runtime.ErrNeedsFullHull
}

func releaseUnlessCreated(*env, string, string, func()) {}

func nameSelf() {} // the kernel named it after the file: hull

func supervisorEvents(context.Context, *env) (int, error) { return 0, runtime.ErrNeedsFullHull }

// handOff replaces this process with the full hull. It runs from a copy beside the init's
// (initbin.OpenCopy: root's, mode 0555, checked by fstat), written on first use; where that
// cannot be (no root, a read-only state root) from a sealed memfd, at ≈10 ms more per call.
func handOff(g globals) error {
	if len(fullHull) == 0 || fullSum == "" {
		return fmt.Errorf("this lean hull was built without the full hull it hands %q to", os.Args[1:])
	}
	f, err := openFullCopy(g.root)
	if err != nil {
		if f, err = sealedMemfd(fullHull); err != nil {
			return fmt.Errorf("run the full hull: %w", err)
		}
	}
	// Exec through /proc/self/fd: the kernel resolves the path before it closes the
	// close-on-exec fd. The full hull keeps the exec'ing thread's timer slack: the host's.
	err = sysmon.WithHostSlack(func() error {
		return syscall.Exec(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.Args, os.Environ())
	})
	return fmt.Errorf("run the full hull: %w", err)
}

func openFullCopy(root string) (*os.File, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, err
	}
	return initbin.OpenCopy(root, "hull-full-"+fullSum, fullHull, nil)
}

func sealedMemfd(data []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("hull-full", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "hull-full")
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
