package image

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// testImage builds an image from layer tarballs, with a config.
func testImage(t testing.TB, cfg v1.Config, layers ...[]byte) v1.Image {
	t.Helper()
	img := empty.Image
	for _, l := range layers {
		b := l
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, layer); err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = HostPlatform().OS, HostPlatform().Architecture
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeLayout(t testing.TB, img v1.Image, ref string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// whiteoutImage has three layers: the second deletes files and empties a directory of the
// first, the third adds back into the emptied directory.
func whiteoutImage(t testing.TB) v1.Image {
	base := mkTar(t, dir("bin/"), file("bin/sh", "sh"), file("etc/keep", "k"), file("etc/gone", "g"),
		dir("var/"), file("var/cache/a", "a"), file("var/cache/b", "b"), file("home/x/y", "y"), file("opt/old", "o"))
	del := mkTar(t, file("etc/.wh.gone", ""), file("var/cache/.wh..wh..opq", ""), file("var/cache/new", "n"),
		file(".wh.home", ""), file(".wh.opt", ""), file("opt/fresh", "f"))
	top := mkTar(t, file("var/cache/top", "t"), file("etc/.wh.keep", ""), file("etc/keep", "again"))
	return testImage(t, v1.Config{Cmd: []string{"/bin/sh"}}, base, del, top)
}

func listTree(t testing.TB, root string) []string {
	var out []string
	_ = filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

// TestImportLayoutAndPrepare takes the copy fallback; overlay_integration_test.go runs the same
// checks on an overlayfs mount, as root.
func TestImportLayoutAndPrepare(t *testing.T) { checkPrepare(t, "copy") }

func checkPrepare(t *testing.T, mode string) {
	s := openStore(t)
	s.noOverlay = mode == "copy"
	ctx := context.Background()
	img, err := s.Import(ctx, writeLayout(t, whiteoutImage(t), "wh:1"), "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 3 || len(img.Names) != 1 || img.Names[0] != "index.docker.io/library/wh:1" {
		t.Fatalf("image %+v", img)
	}
	c, err := s.Prepare(ctx, "wh:1", "c1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Release("c1") })
	if c.Mount != mode {
		t.Fatalf("mount %s, want %s", c.Mount, mode)
	}
	got := strings.Join(listTree(t, c.Rootfs), " ")
	want := "bin bin/sh etc etc/keep opt opt/fresh var var/cache var/cache/new var/cache/top"
	if got != want {
		t.Fatalf("rootfs holds\n%s\nwant\n%s", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(c.Rootfs, "etc/keep")); string(b) != "again" {
		t.Fatalf("etc/keep = %q", b)
	}
	// The container writes into its own root; the layers stay as they were.
	if err := os.WriteFile(filepath.Join(c.Rootfs, "bin/sh"), []byte("changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	c2, err := s.Prepare(ctx, "wh:1", "c2", Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Release("c2") })
	if b, _ := os.ReadFile(filepath.Join(c2.Rootfs, "bin/sh")); string(b) != "sh" {
		t.Fatalf("a second container sees %q", b)
	}
	if _, err := s.Prepare(ctx, "wh:1", "c2", Options{}); err == nil {
		t.Fatal("a second root for c2")
	}
	for _, id := range []string{"c1", "c2"} {
		if err := s.Release(id); err != nil {
			t.Fatal(err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(s.dir, "containers")); len(ents) != 0 {
		t.Fatalf("containers left: %v", ents)
	}
	if err := s.Release("c1"); err != nil {
		t.Fatal("release is not idempotent:", err)
	}
}

func TestImportDockerArchive(t *testing.T) {
	s := openStore(t)
	img := testImage(t, v1.Config{Entrypoint: []string{"/bin/echo"}, Cmd: []string{"hi"}}, mkTar(t, file("bin/echo", "e")))
	tag, _ := name.NewTag("example.com/team/app:2")
	p := filepath.Join(t.TempDir(), "app.tar")
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	got, err := s.Import(context.Background(), p, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	if got.ID != want.String() || got.Names[0] != "example.com/team/app:2" || got.Config.Entrypoint[0] != "/bin/echo" {
		t.Fatalf("imported %+v", got)
	}
	if again, err := s.Get("example.com/team/app:2"); err != nil || again.ID != got.ID {
		t.Fatal("lookup by name:", err)
	}
	if again, err := s.Get(hexOf(got.ID)[:12]); err != nil || again.ID != got.ID {
		t.Fatal("lookup by ID prefix:", err)
	}
}

func TestImportPicksHostPlatform(t *testing.T) {
	s := openStore(t)
	host := HostPlatform()
	other := v1.Platform{OS: "linux", Architecture: "s390x"}
	if host.Architecture == "s390x" {
		other.Architecture = "riscv64"
	}
	mine := testImage(t, v1.Config{Cmd: []string{"mine"}}, mkTar(t, file("which", "host")))
	theirs := testImage(t, v1.Config{Cmd: []string{"theirs"}}, mkTar(t, file("which", "other")))
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: theirs, Descriptor: v1.Descriptor{Platform: &other}},
		mutate.IndexAddendum{Add: mine, Descriptor: v1.Descriptor{Platform: &host}})
	idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "multi:1"})); err != nil {
		t.Fatal(err)
	}
	got, err := s.Import(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Cmd[0] != "mine" || got.Architecture != host.Architecture {
		t.Fatalf("picked %s/%s %v", got.OS, got.Architecture, got.Config.Cmd)
	}
	got, err = s.Import(context.Background(), dir, "multi:other", Options{Platform: &other})
	if err != nil || got.Config.Cmd[0] != "theirs" {
		t.Fatalf("explicit platform: %v %+v", err, got)
	}
}

// A layer whose blob does not match its digest fails the import and leaves no layer, no record,
// no temporary directory: nothing.
func TestCorruptLayerLeavesNothing(t *testing.T) {
	s := openStore(t)
	good := mkTar(t, file("a", strings.Repeat("good", 1000)))
	bad := mkTar(t, file("b", strings.Repeat("bad!", 1000)))
	img := testImage(t, v1.Config{}, good, bad)
	dir := writeLayout(t, img, "corrupt:1")
	ls, _ := img.Layers()
	d, _ := ls[1].Digest()
	blob := filepath.Join(dir, "blobs", "sha256", d.Hex)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	for name, mangled := range map[string][]byte{"truncated": b[:len(b)/2], "flipped": flip(b)} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(blob, mangled, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := s.Import(context.Background(), dir, "", Options{})
			if err == nil {
				t.Fatal("a corrupt layer was accepted")
			}
			t.Log(err)
			for _, sub := range []string{"layers", "images", "tmp", "containers"} {
				if ents, _ := os.ReadDir(filepath.Join(s.dir, sub)); len(ents) != 0 {
					t.Fatalf("%s holds %v after a failed import", sub, ents)
				}
			}
			if r, _ := s.readRefs(); len(r) != 0 {
				t.Fatalf("refs %v", r)
			}
		})
	}
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[len(c)-30] ^= 0xff
	return c
}

func TestRemovePruneKeepUsedLayers(t *testing.T) {
	s := openStore(t)
	s.noOverlay = true
	ctx := context.Background()
	shared := mkTar(t, file("shared", "s"))
	a := testImage(t, v1.Config{Cmd: []string{"a"}}, shared, mkTar(t, file("a", "a")))
	b := testImage(t, v1.Config{Cmd: []string{"b"}}, shared, mkTar(t, file("b", "b")))
	if _, err := s.Import(ctx, writeLayout(t, a, "a:1"), "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, writeLayout(t, b, "b:1"), "", Options{}); err != nil {
		t.Fatal(err)
	}
	layers := func() int { e, _ := os.ReadDir(filepath.Join(s.dir, "layers")); return len(e) }
	if layers() != 3 {
		t.Fatalf("%d layers, want 3 (one shared)", layers())
	}
	if _, err := s.Prepare(ctx, "a:1", "ca", Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Release("ca") })
	if _, err := s.Remove("a:1", false); err == nil {
		t.Fatal("removed an image a container uses")
	}
	if _, err := s.Remove("a:1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if layers() != 3 {
		t.Fatalf("prune removed layers in use: %d left", layers())
	}
	if err := s.Release("ca"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if layers() != 2 || len(rep.Images) != 1 || len(rep.Layers) != 1 {
		t.Fatalf("after release: %d layers, report %+v", layers(), rep)
	}
	if _, err := s.Remove("b:1", false); err != nil {
		t.Fatal(err)
	}
	if layers() != 0 {
		t.Fatalf("%d layers left after removing every image", layers())
	}
	if blobs, _ := os.ReadDir(filepath.Join(s.dir, "blobs", "sha256")); len(blobs) != 0 {
		t.Fatalf("%d blobs left", len(blobs))
	}
}

func TestTagAndUntag(t *testing.T) {
	s := openStore(t)
	img := testImage(t, v1.Config{}, mkTar(t, file("f", "f")))
	if _, err := s.Import(context.Background(), writeLayout(t, img, "orig:1"), "", Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("orig:1", "localhost:5000/copy:2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get("localhost:5000/copy:2")
	if err != nil || len(got.Names) != 2 {
		t.Fatalf("%v %+v", err, got)
	}
	rep, err := s.Remove("orig:1", false)
	if err != nil || len(rep.Images) != 0 {
		t.Fatalf("untag removed the image: %v %+v", err, rep)
	}
	if _, err := s.Get("orig:1"); err == nil {
		t.Fatal("the old name still resolves")
	}
}

// Concurrent imports of one image (as from several hull processes) store each layer once.
func TestConcurrentImports(t *testing.T) {
	s := openStore(t)
	dir := writeLayout(t, whiteoutImage(t), "same:1")
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			other, err := Open(s.dir, nil) // a store of its own, as another process has
			if err == nil {
				_, err = other.Import(context.Background(), dir, "", Options{})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if e, _ := os.ReadDir(filepath.Join(s.dir, "layers")); len(e) != 3 {
		t.Fatalf("%d layer dirs", len(e))
	}
	if e, _ := os.ReadDir(filepath.Join(s.dir, "tmp")); len(e) != 0 {
		t.Fatalf("tmp holds %v", e)
	}
}

func TestImportRootfs(t *testing.T) {
	s := openStore(t)
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "bin", "tool"), []byte("t"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(src, "bin", "alias")); err != nil {
		t.Fatal(err)
	}
	img, err := s.Import(context.Background(), src, "fromdir", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tb := filepath.Join(t.TempDir(), "rootfs.tar")
	if err := os.WriteFile(tb, mkTar(t, dir("bin/"), file("bin/tool", "t")), 0o644); err != nil {
		t.Fatal(err)
	}
	img2, err := s.Import(context.Background(), tb, "fromtar:1", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 1 || len(img2.Layers) != 1 || img.Names[0] != "index.docker.io/library/fromdir:latest" {
		t.Fatalf("%+v %+v", img, img2)
	}
}

func TestBadSources(t *testing.T) {
	s := openStore(t)
	junk := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(junk, []byte("not a tarball at all, just words"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{junk, "/nonexistent/hull/image"} {
		if _, err := s.Import(context.Background(), p, "", Options{}); err == nil {
			t.Fatalf("import %s succeeded", p)
		}
	}
	for _, ref := range []string{"UPPER/case", "a b", ""} {
		if _, err := s.Pull(context.Background(), ref, Options{}); err == nil || !strings.Contains(err.Error(), "invalid image reference") {
			t.Fatalf("pull %q: %v", ref, err)
		}
	}
	for _, sub := range []string{"layers", "images", "tmp", "blobs/sha256"} {
		if ents, _ := os.ReadDir(filepath.Join(s.dir, sub)); len(ents) != 0 {
			t.Fatalf("%s holds %v", sub, ents)
		}
	}
}

func TestLoopbackHTTPOnly(t *testing.T) {
	for host, ok := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "10.0.0.1": false, "example.com": false} {
		if isLoopback(host) != ok {
			t.Errorf("isLoopback(%s) = %v", host, !ok)
		}
	}
}
