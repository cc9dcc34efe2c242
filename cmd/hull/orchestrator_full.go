//go:build !hulllean

package main

import (
	"context"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/sysmon/early"
)

func orchestratorCommand(name string) func(context.Context, *env, []string) (int, error) {
	verb := map[string]func(context.Context, *env, []string) (int, error){
		"network": cmdNetwork, "image": cmdImage, "pull": cmdImagePull, "images": cmdImageList,
		"daemon": cmdDaemon, "up": cmdUp, "down": cmdDown, "service": cmdService,
	}[name]
	return parallel(verb)
}

// parallel gives a verb every CPU back before it runs. hull starts on one P (package early),
// which suits runc's short verbs; hull's own run the supervisor or decompress and hash image
// layers.
func parallel(verb func(context.Context, *env, []string) (int, error)) func(context.Context, *env, []string) (int, error) {
	return func(ctx context.Context, e *env, args []string) (int, error) {
		early.Parallel()
		return verb(ctx, e, args)
	}
}

// handOff is the lean hull's (lean.go); the full one has everything, and never needs it.
func handOff(globals) error { return runtime.ErrNeedsFullHull }

// nameSelf names this process after its argv[0] ("hull"): the lean hull executes the full one
// through /proc/self/fd/N, and the daemon is started through /proc/self/exe, which would name
// them "3" or "exe" in ps and top.
func nameSelf() {
	if p, err := unix.BytePtrFromString(filepath.Base(os.Args[0])); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(p)), 0, 0, 0)
	}
}
