//go:build hulllean

package runtime

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The lean build (see ErrNeedsFullHull): every container that would join a hull network or
// hold a root from the image store is refused here, before create or delete change anything,
// so that the full hull, which cmd/hull hands the command to, does all of it.

type publishedPorts = []struct{}

func checkNetwork(s *specs.Spec, o CreateOptions) (publishedPorts, error) {
	if o.Network != "" || o.Publish != "" || s.Annotations[NetworkAnnotation] != "" || s.Annotations[PublishAnnotation] != "" {
		return nil, ErrNeedsFullHull
	}
	return nil, nil
}

func (r *Runtime) prepareNetworkFiles(*State) error { return nil }

func (r *Runtime) attachNetwork(_ context.Context, st *State, _ publishedPorts) (func(), error) {
	return func() {}, needsFullHull(st)
}

func (r *Runtime) detachNetwork(_ context.Context, st *State) error { return needsFullHull(st) }

func (r *Runtime) releaseImage(s *State) error { return needsFullHull(s) }

// needsFullHull reports ErrNeedsFullHull for a container made by the full hull that holds a
// network lease or an image root: deleting it must release them.
func needsFullHull(s *State) error {
	if s.Network != "" || imageStoreOf(s) != "" {
		return ErrNeedsFullHull
	}
	return nil
}
