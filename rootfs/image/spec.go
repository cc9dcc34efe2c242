package image

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Annotations hull sets on a config made from an image. The store annotation says which store
// holds the container's root, so `hull delete` can release it; the others are informational.
const (
	AnnotationStore = "org.hullrt.image.store"
	AnnotationRef   = "org.hullrt.image"
	AnnotationID    = "org.hullrt.image.id"
	// image-spec conversion.md: "the converter SHOULD set the org.opencontainers.image.exposedPorts
	// annotation"; the stop signal has no runtime field either.
	annotationExposedPorts = "org.opencontainers.image.exposedPorts"
	annotationStopSignal   = "org.opencontainers.image.stopSignal"
)

// Overrides are what a user may change of how an image runs, as `docker run` allows.
type Overrides struct {
	Entrypoint []string // replaces the image's Entrypoint, and drops its Cmd unless Cmd is given
	Cmd        []string // replaces the image's Cmd
	Env        []string // KEY=VALUE, set after the image's
	User       string   // "uid[:gid]" or "name[:group]", resolved in the image's /etc/passwd and /etc/group
	WorkDir    string
	Terminal   bool
	ReadOnly   bool   // a read-only root (images run with a writable one, as under Docker)
	Hostname   string // the container ID by default
}

// Spec makes the runtime config of container c from base (hull's defaults: `hull spec`, with
// its capabilities, seccomp filter and masked paths), the image's config and the user's
// overrides, following image-spec conversion.md: Entrypoint + Cmd become process.args, Env is
// appended, WorkingDir becomes cwd, User is resolved in the container's own /etc/passwd.
func Spec(base *specs.Spec, c *Container, o Overrides) (*specs.Spec, error) {
	s := *base
	p := *base.Process
	s.Process = &p
	ic := c.Config

	entry, cmd := ic.Entrypoint, ic.Cmd
	if o.Entrypoint != nil {
		entry, cmd = o.Entrypoint, nil
	}
	if o.Cmd != nil {
		cmd = o.Cmd
	}
	p.Args = append(slices.Clone(entry), cmd...)
	if len(p.Args) == 0 {
		return nil, errors.New("the image has no Entrypoint or Cmd: give a command")
	}

	env := slices.Clone(base.Process.Env)
	if !o.Terminal {
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, "TERM=") })
	}
	for _, kv := range append(slices.Clone(ic.Env), o.Env...) {
		if !strings.Contains(kv, "=") || strings.HasPrefix(kv, "=") {
			return nil, fmt.Errorf("environment variable %q is not KEY=VALUE", kv)
		}
		env = setEnv(env, kv)
	}
	p.Env = env

	p.Cwd = "/"
	if ic.WorkingDir != "" {
		p.Cwd = ic.WorkingDir
	}
	if o.WorkDir != "" {
		p.Cwd = o.WorkDir
	}
	if !path.IsAbs(p.Cwd) {
		return nil, fmt.Errorf("working directory %q is not absolute", p.Cwd)
	}

	user := ic.User
	if o.User != "" {
		user = o.User
	}
	u, err := ResolveUser(c.Rootfs, user)
	if err != nil {
		return nil, err
	}
	p.User = u
	p.Terminal = o.Terminal

	s.Root = &specs.Root{Path: c.Rootfs, Readonly: o.ReadOnly}
	s.Hostname = c.ID
	if o.Hostname != "" {
		s.Hostname = o.Hostname
	}
	if len(s.Hostname) > 63 {
		s.Hostname = s.Hostname[:63]
	}

	ann := map[string]string{}
	maps.Copy(ann, ic.Labels) // conversion.md: labels become annotations
	maps.Copy(ann, base.Annotations)
	if len(ic.ExposedPorts) > 0 {
		ann[annotationExposedPorts] = strings.Join(slices.Sorted(maps.Keys(ic.ExposedPorts)), ",")
	}
	if ic.StopSignal != "" {
		ann[annotationStopSignal] = ic.StopSignal
	}
	ann[AnnotationRef] = c.Ref
	ann[AnnotationID] = c.Image
	ann[AnnotationStore] = path.Dir(path.Dir(c.Bundle))
	s.Annotations = ann
	return &s, nil
}

// setEnv sets KEY=VALUE in env, replacing an earlier KEY.
func setEnv(env []string, kv string) []string {
	k := kv[:strings.IndexByte(kv, '=')+1]
	for i, e := range env {
		if strings.HasPrefix(e, k) {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
