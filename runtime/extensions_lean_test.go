//go:build hulllean

package runtime

import (
	"errors"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The lean runtime refuses, with ErrNeedsFullHull, exactly the containers the full one must
// handle: `make test` runs this with -tags hulllean.
func TestLeanNeedsFullHull(t *testing.T) {
	ann := func(kv ...string) *specs.Spec {
		s := &specs.Spec{Annotations: map[string]string{}}
		for i := 0; i < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
		return s
	}
	for _, c := range []struct {
		name string
		spec *specs.Spec
		o    CreateOptions
		full bool
	}{
		{"plain", ann(), CreateOptions{}, false},
		{"other annotations", ann("org.example", "x"), CreateOptions{}, false},
		{"network annotation", ann(NetworkAnnotation, "n"), CreateOptions{}, true},
		{"publish annotation", ann(PublishAnnotation, "80"), CreateOptions{}, true},
		{"--network", ann(), CreateOptions{Network: "n"}, true},
		{"--publish", ann(), CreateOptions{Publish: "80"}, true},
	} {
		_, err := checkNetwork(c.spec, c.o)
		if got := errors.Is(err, ErrNeedsFullHull); got != c.full || (!c.full && err != nil) {
			t.Errorf("create, %s: %v, want the full hull: %v", c.name, err, c.full)
		}
	}

	for _, c := range []struct {
		name string
		s    State
		full bool
	}{
		{"plain", State{ID: "a", Bundle: "/b", Spec: ann()}, false},
		{"on a network", State{ID: "a", Bundle: "/b", Spec: ann(), Network: "n"}, true},
		{"root from the store", State{ID: "a", Bundle: "/var/lib/i/containers/a", Spec: ann(ImageStoreAnnotation, "/var/lib/i")}, true},
		{"the annotation alone", State{ID: "a", Bundle: "/b", Spec: ann(ImageStoreAnnotation, "/var/lib/i")}, false},
	} {
		s := c.s
		if got := errors.Is(needsFullHull(&s), ErrNeedsFullHull); got != c.full {
			t.Errorf("delete, %s: full hull %v, want %v", c.name, got, c.full)
		}
	}
}
