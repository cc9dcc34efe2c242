package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Import stores the image at path, whatever its kind:
//
//   - an OCI image layout directory (oci-layout + index.json), as skopeo copy oci:DIR writes;
//   - a docker-archive tarball (manifest.json), as docker save writes;
//   - an OCI-archive tarball: a layout in a tar file;
//   - a plain root filesystem, as a directory or a (possibly gzip'd) tarball, which becomes a
//     one-layer image without Entrypoint or Cmd.
//
// ref names the result ("myimage:1"); without it an archive's own names are kept and a plain
// root filesystem stays nameless (use its ID). A layout or archive with several images needs ref
// to match one of their names, or they must be the platform variants of one image.
func (s *Store) Import(ctx context.Context, path, ref string, o Options) (*Image, error) {
	var names []string
	if ref != "" {
		n, err := Normalize(ref)
		if err != nil {
			return nil, err
		}
		names = []string{n}
	}
	img, err := s.importPath(ctx, path, names, o)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	return img, nil
}

func (s *Store) importPath(ctx context.Context, p string, names []string, o Options) (*Image, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(p, "oci-layout")); err == nil {
			return s.importLayout(ctx, p, names, o)
		}
		return s.importRootfs(ctx, func() (io.ReadCloser, error) {
			pr, pw := io.Pipe()
			go func() { pw.CloseWithError(writeTar(pw, p)) }()
			return pr, nil
		}, p, names, o)
	}
	kind, err := archiveKind(p)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "docker-archive":
		return s.importDockerArchive(ctx, p, names, o)
	case "oci-archive":
		tmp, err := s.tmpDir("oci-archive-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		// Unpacked with the layer extractor, unprivileged: an archive is as untrusted as a layer.
		if _, err := extract(f, tmp, false); err != nil {
			return nil, err
		}
		return s.importLayout(ctx, tmp, names, o)
	}
	return s.importRootfs(ctx, func() (io.ReadCloser, error) { return os.Open(p) }, p, names, o)
}

// archiveKind looks at a tarball's top-level entries: manifest.json marks a Docker archive,
// oci-layout an OCI archive; anything else is a root filesystem.
func archiveKind(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	r, closeDec, err := decompress(f)
	if err != nil {
		return "", err
	}
	defer closeDec()
	tr := tar.NewReader(r)
	oci := false
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if err == io.EOF && n == 0 {
			return "", errors.New("not a tar archive: no entries")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("not a tar archive: %w", err)
		}
		switch strings.TrimPrefix(hdr.Name, "./") {
		case "manifest.json":
			return "docker-archive", nil
		case "oci-layout":
			oci = true
		}
	}
	if oci {
		return "oci-archive", nil
	}
	return "rootfs", nil
}

func (s *Store) importDockerArchive(ctx context.Context, p string, names []string, o Options) (*Image, error) {
	opener := func() (io.ReadCloser, error) { return os.Open(p) }
	m, err := tarball.LoadManifest(opener)
	if err != nil {
		return nil, err
	}
	var pick *tarball.Descriptor
	switch {
	case len(m) == 1:
		pick = &m[0]
	case len(names) == 1:
		for i := range m {
			for _, t := range m[i].RepoTags {
				if n, err := Normalize(t); err == nil && n == names[0] {
					pick = &m[i]
				}
			}
		}
	}
	if pick == nil {
		return nil, fmt.Errorf("the archive holds %d images: name the one to import", len(m))
	}
	var tag *name.Tag
	if len(pick.RepoTags) > 0 {
		t, err := name.NewTag(pick.RepoTags[0])
		if err != nil {
			return nil, err
		}
		tag = &t
	}
	img, err := tarball.Image(opener, tag)
	if err != nil {
		return nil, err
	}
	if names == nil {
		for _, t := range pick.RepoTags {
			if n, err := Normalize(t); err == nil {
				names = append(names, n)
			}
		}
	}
	return s.add(ctx, img, addInfo{names: names, source: "docker-archive:" + p}, o)
}

// importLayout picks one image of an OCI layout: the one whose name matches names, or the only
// one, descending into an index for the platform.
func (s *Store) importLayout(ctx context.Context, dir string, names []string, o Options) (*Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	descs := im.Manifests
	if len(descs) > 1 && len(names) == 1 {
		var named []v1.Descriptor
		for _, d := range descs {
			if layoutName(d) == names[0] {
				named = append(named, d)
			}
		}
		if len(named) > 0 {
			descs = named
		}
	}
	var d v1.Descriptor
	if len(descs) == 1 {
		d = descs[0]
	} else if d, err = pickPlatform(descs, o.platform()); err != nil {
		return nil, fmt.Errorf("the layout holds %d images and %w: name the one to import", len(descs), err)
	}
	img, err := resolve(idx, d, o.platform())
	if err != nil {
		return nil, err
	}
	if names == nil {
		if n := layoutName(d); n != "" {
			names = []string{n}
		}
	}
	return s.add(ctx, img, addInfo{names: names, source: "oci:" + dir, manifest: true}, o)
}

// resolve descends from d, through nested indexes, to the image for platform p.
func resolve(idx v1.ImageIndex, d v1.Descriptor, p v1.Platform) (v1.Image, error) {
	for depth := 0; depth < 4; depth++ {
		if !d.MediaType.IsIndex() {
			return idx.Image(d.Digest)
		}
		child, err := idx.ImageIndex(d.Digest)
		if err != nil {
			return nil, err
		}
		im, err := child.IndexManifest()
		if err != nil {
			return nil, err
		}
		if d, err = pickPlatform(im.Manifests, p); err != nil {
			return nil, err
		}
		idx = child
	}
	return nil, errors.New("indexes nested too deep")
}

func pickPlatform(descs []v1.Descriptor, p v1.Platform) (v1.Descriptor, error) {
	for _, d := range descs {
		if d.Platform != nil && d.Platform.OS == p.OS && d.Platform.Architecture == p.Architecture &&
			(p.Variant == "" || d.Platform.Variant == p.Variant) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("no image for platform %s/%s", p.OS, p.Architecture)
}

// layoutName is the name a layout gives an image: containerd's full name, or the OCI ref name
// (a tag, or a full reference).
func layoutName(d v1.Descriptor) string {
	for _, k := range []string{"io.containerd.image.name", "org.opencontainers.image.ref.name"} {
		if v := d.Annotations[k]; v != "" {
			if n, err := Normalize(v); err == nil {
				return n
			}
		}
	}
	return ""
}

// importRootfs makes a one-layer image of a plain root filesystem.
func (s *Store) importRootfs(ctx context.Context, open func() (io.ReadCloser, error), p string, names []string, o Options) (_ *Image, err error) {
	unlock, err := s.lockGCShared()
	if err != nil {
		return nil, err
	}
	var diffID string
	defer func() {
		unlock()
		if err != nil && diffID != "" {
			s.collect([]string{diffID})
		}
	}()
	report := func(p Progress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	var done int64
	report(Progress{Layer: filepath.Base(p), Status: "waiting"})
	diffID, size, err := s.ingest(ctx, layerSource{open: open}, func(n int64) { done += n })
	if err != nil {
		report(Progress{Layer: filepath.Base(p), Status: "failed", Current: done})
		return nil, err
	}
	report(Progress{Layer: filepath.Base(p), Status: "done", Current: done, Total: done})
	hp := HostPlatform()
	now := time.Now().UTC()
	cfg := map[string]any{
		"created": now, "os": hp.OS, "architecture": hp.Architecture,
		"config": map[string]any{"Env": []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
		"rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	rec := &Image{ID: digestOf(raw), Config: imageConfig(cf.Config), Created: now, Added: now, OS: hp.OS,
		Architecture: hp.Architecture, Source: "rootfs:" + p, Size: size,
		Layers: []Layer{{DiffID: diffID, Size: size}}}
	if err := s.putBlob(raw); err != nil {
		return nil, err
	}
	if err := s.commit(rec, names); err != nil {
		return nil, err
	}
	return rec, nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func statFile(p string) (os.FileInfo, error) { return os.Stat(p) }
