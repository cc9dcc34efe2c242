package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// PruneReport says what a prune or a remove freed.
type PruneReport struct {
	Images []string `json:"images,omitempty"` // IDs of image records removed
	Layers []string `json:"layers,omitempty"` // diffIDs of unpacked layers removed
	Blobs  int      `json:"blobs"`
}

// Remove removes a name; when ref is an image ID, or the image has no other name left, the image
// itself goes too, and with it every layer nothing else uses. An image a container was made from
// is kept unless force (its layers stay while the container lives either way).
func (s *Store) Remove(ref string, force bool) (PruneReport, error) {
	unlock, err := s.lockForGC()
	if err != nil {
		return PruneReport{}, err
	}
	defer unlock()
	r, err := s.readRefs()
	if err != nil {
		return PruneReport{}, err
	}
	img, err := s.get(r, ref)
	if err != nil {
		return PruneReport{}, err
	}
	byName := false
	if n, err := Normalize(ref); err == nil && r[n] == img.ID {
		delete(r, n)
		byName = true
	}
	left := 0
	for _, id := range r {
		if id == img.ID {
			left++
		}
	}
	if byName && left > 0 {
		return PruneReport{}, s.writeRefs(r) // only untagged
	}
	users, err := s.containersOf(img.ID)
	if err != nil {
		return PruneReport{}, err
	}
	if len(users) > 0 && !force {
		return PruneReport{}, fmt.Errorf("image %s is used by container %s: delete it first or use --force", ref, users[0])
	}
	for n, id := range r {
		if id == img.ID {
			delete(r, n)
		}
	}
	if err := s.writeRefs(r); err != nil {
		return PruneReport{}, err
	}
	var rep PruneReport
	if len(users) == 0 {
		if err := os.Remove(s.imagePath(img.ID)); err != nil {
			return rep, err
		}
		rep.Images = append(rep.Images, img.ID)
	}
	return rep, s.sweep(&rep, nil)
}

// Prune removes the images that have neither a name nor a container, then every layer and blob
// no image or container references, and what crashed pulls left in tmp/.
func (s *Store) Prune() (PruneReport, error) {
	unlock, err := s.lockForGC()
	if err != nil {
		return PruneReport{}, err
	}
	defer unlock()
	var rep PruneReport
	r, err := s.readRefs()
	if err != nil {
		return rep, err
	}
	named := map[string]bool{}
	for _, id := range r {
		named[id] = true
	}
	all, err := s.records()
	if err != nil {
		return rep, err
	}
	for _, img := range all {
		if named[img.ID] {
			continue
		}
		users, err := s.containersOf(img.ID)
		if err != nil {
			return rep, err
		}
		if len(users) == 0 {
			if err := os.Remove(s.imagePath(img.ID)); err != nil {
				return rep, err
			}
			rep.Images = append(rep.Images, img.ID)
		}
	}
	// Under the exclusive lock no pull is running, so whatever is in tmp/ is a crash's leftover.
	ents, _ := os.ReadDir(filepath.Join(s.dir, "tmp"))
	for _, e := range ents {
		_ = os.RemoveAll(filepath.Join(s.dir, "tmp", e.Name()))
	}
	return rep, s.sweep(&rep, nil)
}

// collect removes those of the given layers nothing references: a failed pull's own layers.
func (s *Store) collect(diffIDs []string) {
	unlock, err := s.lockGCExclusive()
	if err != nil {
		return
	}
	defer unlock()
	var rep PruneReport
	_ = s.sweep(&rep, diffIDs)
}

// sweep removes unreferenced layers (only the given ones, when only is not nil) and, for a
// full sweep, unreferenced blobs. The caller holds the exclusive gc lock.
func (s *Store) sweep(rep *PruneReport, only []string) error {
	layers, blobs, err := s.referenced()
	if err != nil {
		return err
	}
	var cands []string
	if only != nil {
		for _, d := range only {
			cands = append(cands, hexOf(d))
		}
	} else {
		ents, err := os.ReadDir(filepath.Join(s.dir, "layers"))
		if err != nil {
			return err
		}
		for _, e := range ents {
			cands = append(cands, e.Name())
		}
	}
	for _, h := range cands {
		if layers[h] || !validHex().MatchString(h) {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.dir, "layers", h)); err != nil {
			return fmt.Errorf("remove layer %s: %w", h, err)
		}
		rep.Layers = append(rep.Layers, "sha256:"+h)
	}
	if only != nil {
		return nil
	}
	ents, err := os.ReadDir(filepath.Join(s.dir, "blobs", "sha256"))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if blobs[e.Name()] {
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, "blobs", "sha256", e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		rep.Blobs++
	}
	return nil
}

// referenced is every layer (by diffID hex) and blob (by hex) an image or a container uses.
func (s *Store) referenced() (layers, blobs map[string]bool, err error) {
	layers, blobs = map[string]bool{}, map[string]bool{}
	all, err := s.records()
	if err != nil {
		return nil, nil, err
	}
	for _, img := range all {
		blobs[hexOf(img.ID)] = true
		if img.Digest != "" {
			blobs[hexOf(img.Digest)] = true
		}
		for _, l := range img.Layers {
			layers[hexOf(l.DiffID)] = true
		}
	}
	cs, err := s.Containers()
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cs {
		blobs[hexOf(c.Image)] = true
		for _, l := range c.Layers {
			layers[hexOf(l)] = true
		}
	}
	return layers, blobs, nil
}

func (s *Store) containersOf(id string) ([]string, error) {
	cs, err := s.Containers()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range cs {
		if c.Image == id {
			out = append(out, c.ID)
		}
	}
	return out, nil
}

// Containers lists the containers prepared from images. A container directory without its
// record (a Prepare in progress, or one that crashed) still holds its layers: its record is
// written before anything else.
func (s *Store) Containers() ([]*Container, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "containers"))
	if err != nil {
		return nil, err
	}
	var out []*Container
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		var c Container
		if err := readJSON(filepath.Join(s.dir, "containers", e.Name(), "container.json"), &c); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, err
		}
		out = append(out, &c)
	}
	return out, nil
}

// lockForGC takes the store's GC lock (no Prepare may run: a layer it is about to use must not
// go) and then its metadata lock, and gives back one function that releases both.
func (s *Store) lockForGC() (func(), error) {
	unlockGC, err := s.lockGCExclusive()
	if err != nil {
		return nil, err
	}
	unlockMeta, err := s.lockMeta()
	if err != nil {
		unlockGC()
		return nil, err
	}
	return func() { unlockMeta(); unlockGC() }, nil
}
