//go:build !hulllean

package runtime

import "github.com/hullrt/hull/rootfs/image"

// releaseImage frees the root filesystem the image store made for this container (hull run
// --image); see imageStoreOf for which containers qualify.
func (r *Runtime) releaseImage(s *State) error {
	dir := imageStoreOf(s)
	if dir == "" {
		return nil
	}
	st, err := image.Open(dir, r.Log)
	if err != nil {
		return err
	}
	return r.step("image.release", s.Bundle, func() error { return st.Release(s.ID) })
}

// needsFullHull is for the lean build (extensions_lean.go): the full build has everything.
func needsFullHull(*State) error { return nil }
