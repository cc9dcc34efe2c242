package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// Image is the store's record of one image.
type Image struct {
	ID           string      `json:"id"`     // sha256 digest of the config: what Docker calls the image ID
	Digest       string      `json:"digest"` // digest of the manifest
	Names        []string    `json:"names,omitempty"`
	Layers       []Layer     `json:"layers"` // bottom first
	Config       ImageConfig `json:"config"`
	Created      time.Time   `json:"created,omitzero"` // as the image's config says
	Added        time.Time   `json:"added"`
	Size         int64       `json:"size"` // bytes unpacked
	OS           string      `json:"os,omitempty"`
	Architecture string      `json:"architecture,omitempty"`
	Variant      string      `json:"variant,omitempty"`
	Source       string      `json:"source,omitempty"` // where it came from
}

// Layer is one layer of an image.
type Layer struct {
	DiffID string `json:"diffID"`           // digest of the uncompressed tar: names the unpacked dir
	Digest string `json:"digest,omitempty"` // digest of the blob as shipped (compressed)
	Size   int64  `json:"size"`             // bytes unpacked
}

// ImageConfig is the part of an image's config that says how to run it (image-spec config.md,
// "config" field).
type ImageConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
	StopSignal   string              `json:"StopSignal,omitempty"`
}

// refs maps normalised names to image IDs.
type refs map[string]string

func (s *Store) readRefs() (refs, error) {
	r := refs{}
	if err := readJSON(filepath.Join(s.dir, "refs.json"), &r); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	return r, nil
}

func (s *Store) writeRefs(r refs) error { return writeJSON(filepath.Join(s.dir, "refs.json"), r) }

// Normalize turns what a user types into the name the store keys on: Docker Hub is the default
// registry, "library/" the default namespace and "latest" the default tag.
func Normalize(ref string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	return r.Name(), nil
}

// Short is a name as Docker prints it: without the Docker Hub registry and "library/".
func Short(n string) string {
	n = strings.TrimPrefix(n, name.DefaultRegistry+"/")
	return strings.TrimPrefix(n, "library/")
}

var idPrefix = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(sha256:)?[a-f0-9]{4,64}$`) })

// Get finds an image by name ("busybox", "localhost:5000/x:1", "x@sha256:…") or by a prefix of
// its ID.
func (s *Store) Get(ref string) (*Image, error) {
	r, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	return s.get(r, ref)
}

func (s *Store) get(r refs, ref string) (*Image, error) {
	if idPrefix().MatchString(ref) {
		if img, err := s.byIDPrefix(hexOf(ref)); err == nil || !errors.Is(err, ErrNotFound) {
			return img, err
		}
	}
	n, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	if d, ok := n.(name.Digest); ok {
		all, err := s.records()
		if err != nil {
			return nil, err
		}
		for _, img := range all {
			if img.Digest == d.DigestStr() {
				return s.withNames(r, img), nil
			}
		}
		return nil, fmt.Errorf("image %s: %w", ref, ErrNotFound)
	}
	id, ok := r[n.Name()]
	if !ok {
		return nil, fmt.Errorf("image %s: %w", ref, ErrNotFound)
	}
	img, err := s.record(id)
	if err != nil {
		return nil, err
	}
	return s.withNames(r, img), nil
}

func (s *Store) byIDPrefix(prefix string) (*Image, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if err != nil {
		return nil, err
	}
	var found string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && strings.HasSuffix(e.Name(), ".json") {
			if found != "" {
				return nil, fmt.Errorf("image ID prefix %s is ambiguous", prefix)
			}
			found = strings.TrimSuffix(e.Name(), ".json")
		}
	}
	if found == "" {
		return nil, fmt.Errorf("image %s: %w", prefix, ErrNotFound)
	}
	r, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	img, err := s.record("sha256:" + found)
	if err != nil {
		return nil, err
	}
	return s.withNames(r, img), nil
}

func (s *Store) record(id string) (*Image, error) {
	var img Image
	if err := readJSON(s.imagePath(id), &img); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("image %s: %w", id, ErrNotFound)
		}
		return nil, err
	}
	return &img, nil
}

func (s *Store) records() ([]*Image, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "images"))
	if err != nil {
		return nil, err
	}
	var out []*Image
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validHex().MatchString(id) {
			continue
		}
		img, err := s.record("sha256:" + id)
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) withNames(r refs, img *Image) *Image {
	img.Names = nil
	for n, id := range r {
		if id == img.ID {
			img.Names = append(img.Names, n)
		}
	}
	sort.Strings(img.Names)
	return img
}

// List returns every image, newest first.
func (s *Store) List() ([]*Image, error) {
	r, err := s.readRefs()
	if err != nil {
		return nil, err
	}
	all, err := s.records()
	if err != nil {
		return nil, err
	}
	for _, img := range all {
		s.withNames(r, img)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Added.After(all[j].Added) })
	return all, nil
}

// Tag gives the image that ref names another name.
func (s *Store) Tag(ref, newName string) error {
	n, err := Normalize(newName)
	if err != nil {
		return err
	}
	if _, ok := mustParse(n).(name.Digest); ok {
		return fmt.Errorf("cannot tag with a digest reference %q", newName)
	}
	unlock, err := s.lockMeta()
	if err != nil {
		return err
	}
	defer unlock()
	r, err := s.readRefs()
	if err != nil {
		return err
	}
	img, err := s.get(r, ref)
	if err != nil {
		return err
	}
	r[n] = img.ID
	return s.writeRefs(r)
}

func mustParse(n string) name.Reference {
	r, _ := name.ParseReference(n)
	return r
}

// commit records a newly stored image under names (normalised), moving each name from any image
// that held it.
func (s *Store) commit(img *Image, names []string) error {
	unlock, err := s.lockMeta()
	if err != nil {
		return err
	}
	defer unlock()
	if old, err := s.record(img.ID); err == nil {
		img.Added = old.Added // the same image again: keep its place in the list
	}
	if err := writeJSON(s.imagePath(img.ID), img); err != nil {
		return fmt.Errorf("record image %s: %w", img.ID, err)
	}
	r, err := s.readRefs()
	if err != nil {
		return err
	}
	for _, n := range names {
		r[n] = img.ID
	}
	if err := s.writeRefs(r); err != nil {
		return err
	}
	s.withNames(r, img)
	return nil
}
