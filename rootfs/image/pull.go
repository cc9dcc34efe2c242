package image

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Options tune a pull or an import.
type Options struct {
	Platform *v1.Platform   // the platform to pick from a multi-arch index; the host's by default
	Progress func(Progress) // called as each layer moves on; calls are serialised; may be nil
	Jobs     int            // layers fetched and unpacked at once; 3 (Docker's default) when 0
}

// Progress is one layer's state, for a progress display.
type Progress struct {
	Layer   string // the layer's digest as shipped (or its diffID)
	Status  string // "waiting", "downloading", "exists", "done", "failed"
	Current int64  // bytes read of the blob
	Total   int64  // blob size, 0 when unknown
}

// HostPlatform is the platform images are picked for: the one hull was built for.
func HostPlatform() v1.Platform {
	return v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
}

func (o Options) platform() v1.Platform {
	if o.Platform != nil {
		return *o.Platform
	}
	return HostPlatform()
}

// Pull fetches ref from its registry (Docker Hub when the reference names none), with the
// credentials of ~/.docker/config.json, and stores it under that name. A multi-arch index
// resolves to the host's platform. Registries on localhost or a loopback address may be plain
// HTTP; any other must speak TLS.
func (s *Store) Pull(ctx context.Context, ref string, o Options) (*Image, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %w", ref, err)
	}
	img, err := remote.Image(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithPlatform(o.platform()), remote.WithTransport(loopbackHTTPOnly{remote.DefaultTransport}))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	got, err := s.add(ctx, img, addInfo{names: []string{r.Name()}, source: r.Name(), manifest: true}, o)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return got, nil
}

// loopbackHTTPOnly refuses plain HTTP to anything but a loopback registry. go-containerregistry
// also falls back to HTTP for private (RFC 1918) addresses, where a man in the middle could
// downgrade the connection; the rule is localhost only.
type loopbackHTTPOnly struct{ rt http.RoundTripper }

func (t loopbackHTTPOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !isLoopback(req.URL.Hostname()) {
		return nil, fmt.Errorf("plain HTTP to %s refused: only localhost registries may go without TLS", req.URL.Host)
	}
	return t.rt.RoundTrip(req)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// addInfo says how an image came and what to call it.
type addInfo struct {
	names    []string // normalised names to record
	source   string
	manifest bool // the image has a real manifest (registry, OCI layout); Docker archives do not
}

// add stores img: every layer it does not have yet is fetched, verified and unpacked (several at
// once), then the config and manifest are stored and the image recorded. On failure, the layers
// this call unpacked and nothing else references are removed again.
func (s *Store) add(ctx context.Context, img v1.Image, info addInfo, o Options) (_ *Image, err error) {
	unlock, err := s.lockGCShared()
	if err != nil {
		return nil, err
	}
	var created []string
	defer func() {
		unlock()
		if err != nil && len(created) > 0 {
			s.collect(created)
		}
	}()
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	id := digestOf(rawCfg)
	cf, err := v1.ParseConfigFile(bytesReader(rawCfg))
	if err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	var rawMan []byte
	rec := &Image{ID: id, Config: imageConfig(cf.Config), Created: cf.Created.Time, Added: time.Now().UTC(),
		OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant, Source: info.source}
	srcs := make([]layerSource, len(cf.RootFS.DiffIDs))
	if info.manifest {
		if rawMan, err = img.RawManifest(); err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		man, err := v1.ParseManifest(bytesReader(rawMan))
		if err != nil {
			return nil, fmt.Errorf("parse manifest: %w", err)
		}
		if man.Config.Digest.String() != id {
			return nil, fmt.Errorf("config digest is %s, the manifest says %s", id, man.Config.Digest)
		}
		if len(man.Layers) != len(srcs) {
			return nil, fmt.Errorf("manifest lists %d layers, the config %d", len(man.Layers), len(srcs))
		}
		rec.Digest = digestOf(rawMan)
		for i, d := range man.Layers {
			if err := checkDigest(d.Digest.String()); err != nil {
				return nil, err
			}
			l, err := img.LayerByDigest(d.Digest)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", d.Digest, err)
			}
			srcs[i] = layerSource{open: l.Compressed, digest: d.Digest.String(), diffID: cf.RootFS.DiffIDs[i].String(), size: d.Size}
		}
	} else {
		for i, d := range cf.RootFS.DiffIDs {
			l, err := img.LayerByDiffID(d)
			if err != nil {
				return nil, fmt.Errorf("layer %s: %w", d, err)
			}
			srcs[i] = layerSource{open: l.Uncompressed, diffID: d.String()}
		}
	}
	if created, err = s.fetchLayers(ctx, srcs, o); err != nil {
		return nil, err
	}
	for _, src := range srcs {
		li, err := s.layerInfo(src.diffID)
		if err != nil {
			return nil, err
		}
		rec.Layers = append(rec.Layers, Layer{DiffID: src.diffID, Digest: src.digest, Size: li.Size})
		rec.Size += li.Size
	}
	if err := s.putBlob(rawCfg); err != nil {
		return nil, err
	}
	if rawMan != nil {
		if err := s.putBlob(rawMan); err != nil {
			return nil, err
		}
	}
	if err := s.commit(rec, info.names); err != nil {
		return nil, err
	}
	return rec, nil
}

// fetchLayers brings every missing layer in, o.Jobs at a time, and returns the diffIDs it
// unpacked.
func (s *Store) fetchLayers(ctx context.Context, srcs []layerSource, o Options) ([]string, error) {
	var mu sync.Mutex
	report := func(p Progress) {
		if o.Progress != nil {
			mu.Lock()
			o.Progress(p)
			mu.Unlock()
		}
	}
	seen := map[string]bool{}
	var todo []layerSource
	for _, src := range srcs {
		if src.diffID == "" || seen[src.diffID] {
			continue // an image may list one (often the empty) layer twice
		}
		seen[src.diffID] = true
		if s.hasLayer(src.diffID) {
			report(Progress{Layer: src.name(), Status: "exists", Total: src.size, Current: src.size})
			continue
		}
		report(Progress{Layer: src.name(), Status: "waiting", Total: src.size})
		todo = append(todo, src)
	}
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 3
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(jobs)
	var created []string
	for _, src := range todo {
		g.Go(func() error {
			var done int64
			last := time.Time{}
			count := func(n int64) {
				done += n
				if now := time.Now(); now.Sub(last) > 100*time.Millisecond {
					last = now
					report(Progress{Layer: src.name(), Status: "downloading", Current: done, Total: src.size})
				}
			}
			if _, _, err := s.ingest(gctx, src, count); err != nil {
				report(Progress{Layer: src.name(), Status: "failed", Current: done, Total: src.size})
				return err
			}
			report(Progress{Layer: src.name(), Status: "done", Current: done, Total: max(src.size, done)})
			mu.Lock()
			created = append(created, src.diffID)
			mu.Unlock()
			return nil
		})
	}
	err := g.Wait()
	if err != nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return created, err
}

// putBlob stores b under its digest unless it is there.
func (s *Store) putBlob(b []byte) error {
	p := s.blobPath(hexOf(digestOf(b)))
	if _, err := statFile(p); err == nil {
		return nil
	}
	if err := writeFileAtomic(p, b); err != nil {
		return fmt.Errorf("store blob: %w", err)
	}
	return nil
}

func digestOf(b []byte) string {
	h := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(h[:])
}

func imageConfig(c v1.Config) ImageConfig {
	return ImageConfig{User: c.User, ExposedPorts: c.ExposedPorts, Env: c.Env, Entrypoint: c.Entrypoint, Cmd: c.Cmd,
		WorkingDir: c.WorkingDir, Labels: c.Labels, StopSignal: c.StopSignal}
}
