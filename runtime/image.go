package runtime

import (
	"path/filepath"

	"github.com/hullrt/hull/rootfs/image"
)

// releaseImage frees the root filesystem the image store made for this container (hull run
// --image). Only a container whose bundle is the store's own directory for it qualifies: the
// annotation alone, which any config.json can carry, never makes delete touch a store.
func (r *Runtime) releaseImage(s *State) error {
	dir := s.Spec.Annotations[image.AnnotationStore]
	if dir == "" || !filepath.IsAbs(dir) || s.Bundle != filepath.Join(dir, "containers", s.ID) {
		return nil
	}
	st, err := image.Open(dir, r.Log)
	if err != nil {
		return err
	}
	return r.step("image.release", s.Bundle, func() error { return st.Release(s.ID) })
}
