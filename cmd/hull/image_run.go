//go:build !hulllean

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"

	"github.com/hullrt/hull/rootfs/image"
	"github.com/hullrt/hull/runtime"
)

// bundle prepares the container's root from the image and writes its config.json; release
// undoes both.
func (f *imageFlags) bundle(ctx context.Context, e *env, id string, cmd []string) (bundle string, release func(), err error) {
	st, err := e.images()
	if err != nil {
		return "", nil, err
	}
	// Refuse a taken id before pulling anything.
	if _, err := e.rt.State(id); err == nil {
		return "", nil, usageError{"container with id exists: " + id}
	}
	c, err := st.Prepare(ctx, f.ref, id, image.Options{Progress: newProgress(e.stderr, f.quiet).update})
	if err != nil {
		return "", nil, err
	}
	release = func() { _ = st.Release(id) }
	defer func() {
		if err != nil {
			release()
		}
	}()
	o := image.Overrides{Env: f.env, User: f.user, WorkDir: f.workdir, Terminal: f.tty, ReadOnly: f.readOnly, Hostname: f.hostname}
	if len(cmd) > 0 {
		o.Cmd = cmd
	}
	if f.entrypoint != nil {
		o.Entrypoint = []string{}
		if *f.entrypoint != "" {
			o.Entrypoint = strings.Fields(*f.entrypoint)
		}
	}
	spec, err := image.Spec(runtime.DefaultSpec(false), c, o)
	if err != nil {
		return "", nil, err
	}
	b, err := json.MarshalIndent(spec, "", "\t")
	if err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(c.Bundle, "config.json"), append(b, '\n'), 0o644); err != nil {
		return "", nil, err
	}
	return c.Bundle, release, nil
}

// releaseUnlessCreated releases an image root when create failed: unless the runtime holds a
// container with that id and that bundle, nobody else will.
func releaseUnlessCreated(e *env, id, bundle string, release func()) {
	if s, err := e.rt.State(id); err != nil || s.Bundle != bundle {
		release()
	}
}
