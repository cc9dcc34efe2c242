//go:build integration

package test

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// registry starts Debian's docker-registry (the real distribution registry, not a mock) on a
// free loopback port with its own storage, and stops it by pid when the test ends.
func registry(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", filepath.Join(dir, "config.yml"))
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry (apt package docker-registry): %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		logf.Close()
	})
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr
			}
		}
		if i == 100 {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// dirLayer is a layer of the tree at root (the busybox rootfs), built like `tar -C root .`.
func dirLayer(t *testing.T, root string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if fi.Mode()&fs.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, _ = filepath.Rel(root, p)
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return bytesLayer(t, buf.Bytes())
}

func bytesLayer(t *testing.T, b []byte) v1.Layer {
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// tarOf builds a small layer: name → content; a name ending in "/" is a directory.
func tarOf(t *testing.T, entries ...string) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i < len(entries); i += 2 {
		hdr := &tar.Header{Name: entries[i], Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(entries[i+1]))}
		if strings.HasSuffix(entries[i], "/") {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeDir, 0o755, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		_, _ = tw.Write([]byte(entries[i+1]))
	}
	tw.Close()
	return buf.Bytes()
}

// busyboxImage is the busybox rootfs, a layer that marks the image and whites out /home and
// /etc/group, and one that puts /etc/group back with an extra group; its config uses every field
// hull reads.
func busyboxImage(t *testing.T, marker string) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, dirLayer(t, rootfsSource),
		bytesLayer(t, tarOf(t, "etc/marker", marker+"\n", ".wh.home", "", "etc/.wh.group", "")),
		bytesLayer(t, tarOf(t, "etc/group", "root:x:0:\nuser:x:1000:\nextra:x:2000:user\n")))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", goruntime.GOARCH
	cf.Config = v1.Config{
		Cmd: []string{"cat", "/etc/marker"}, Env: []string{"PATH=/bin", "FOO=bar"}, WorkingDir: "/tmp",
		User: "user", ExposedPorts: map[string]struct{}{"80/tcp": {}}, Labels: map[string]string{"org.example.l": "v"},
		StopSignal: "SIGQUIT",
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// imageH is a test's hull with its own image store.
type imageH struct {
	*h
	store string
}

func newImageH(t *testing.T) *imageH {
	x := &imageH{h: newH(t), store: filepath.Join(t.TempDir(), "images")}
	t.Cleanup(func() {
		for _, m := range mountsUnder(x.store) {
			t.Errorf("mount left: %s", m)
			_ = syscall.Unmount(m, syscall.MNT_DETACH)
		}
	})
	return x
}

func (x *imageH) hull(args ...string) result {
	x.t.Helper()
	return x.run(append([]string{"--image-dir", x.store}, args...)...)
}

func (x *imageH) must(args ...string) string {
	x.t.Helper()
	r := x.hull(args...)
	if r.code != 0 {
		x.t.Fatalf("hull %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs hull, wants exit 1 and exactly one error line "hull: ..." on stderr.
func (x *imageH) fails(args ...string) string {
	x.t.Helper()
	r := x.hull(args...)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "hull: ") {
		x.t.Fatalf("hull %v: exit %d, stderr %q (want exit 1 and one hull: line)", args, r.code, r.stderr)
	}
	return lines[0]
}

// empty fails the test if the store holds anything in these subdirectories.
func (x *imageH) storeEmpty(subs ...string) {
	x.t.Helper()
	for _, sub := range subs {
		if ents, _ := os.ReadDir(filepath.Join(x.store, sub)); len(ents) != 0 {
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			x.t.Fatalf("%s holds %v", sub, names)
		}
	}
}

func TestImageRegistryPullRun(t *testing.T) {
	addr := registry(t)
	ref := addr + "/hull/busybox:1"
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, busyboxImage(t, "from-registry")); err != nil {
		t.Fatal(err)
	}
	x := newImageH(t)
	out := x.must("image", "pull", ref)
	if !strings.Contains(out, "hull/busybox:1 sha256:") {
		t.Fatalf("pull printed %q", out)
	}
	if got := x.must("image", "pull", "--quiet", ref); !strings.HasPrefix(got, "sha256:") || strings.Count(got, "\n") != 1 {
		t.Fatalf("pull --quiet printed %q", got)
	}
	if got := x.must("run", "--image", ref, "img-run1"); got != "from-registry\n" {
		t.Fatalf("run printed %q", got)
	}
	// The image's Env, User (looked up in its /etc/passwd, with its /etc/group's extra group),
	// WorkingDir; the whiteout layer removed /home.
	got := x.must("run", "--image", ref, "img-run2", "sh", "-c", "echo $FOO; id -u; id -G; pwd; ls /home 2>&1 || true")
	if want := "bar\n1000\n1000 2000\n/tmp\nls: /home: No such file or directory\n"; got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	got = x.must("run", "--image", ref, "-e", "FOO=baz", "-u", "0:0", "-w", "/etc", "img-run3", "sh", "-c", "echo $FOO; id -u; pwd")
	if got != "baz\n0\n/etc\n" {
		t.Fatalf("overrides: %q", got)
	}
	// Writes go to the container's own upper dir, not into the shared layers.
	x.must("run", "--image", ref, "-u", "0", "img-run4", "sh", "-c", "echo changed > /etc/marker")
	if got := x.must("run", "--image", ref, "img-run5"); got != "from-registry\n" {
		t.Fatalf("a write leaked into the image: %q", got)
	}
	x.storeEmpty("containers", "tmp")

	// create → a bundle with the image's config; delete removes the mount and the bundle.
	x.must("create", "--image", ref, "img-c1")
	var c struct {
		Bundle string `json:"bundle"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(x.must("state", "img-c1")), &c); err != nil || c.Status != "created" {
		t.Fatalf("state: %v %+v", err, c)
	}
	var spec specs.Spec
	b, err := os.ReadFile(filepath.Join(c.Bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	a := spec.Annotations
	if a["org.opencontainers.image.exposedPorts"] != "80/tcp" || a["org.opencontainers.image.stopSignal"] != "SIGQUIT" || a["org.example.l"] != "v" {
		t.Fatalf("annotations %v", a)
	}
	if len(mountsUnder(c.Bundle)) != 1 {
		t.Fatalf("want the overlay mounted at %s/rootfs: %v", c.Bundle, mountsUnder(c.Bundle))
	}
	x.must("delete", "--force", "img-c1")
	if _, err := os.Stat(c.Bundle); !os.IsNotExist(err) {
		t.Fatalf("bundle %s left after delete: %v", c.Bundle, err)
	}
	x.storeEmpty("containers")
	for _, id := range []string{"img-run1", "img-run2", "img-run3", "img-run4", "img-run5", "img-c1"} {
		if d := cgroupDirs("/hull/" + id); len(d) > 0 {
			t.Errorf("cgroup left: %v", d)
		}
	}

	// Removing the image and pruning leaves an empty store.
	x.must("image", "rm", ref)
	x.must("image", "prune")
	x.storeEmpty("layers", "images", "blobs/sha256", "containers", "tmp")
}

func TestImageMultiArchFromRegistry(t *testing.T) {
	addr := registry(t)
	other := v1.Platform{OS: "linux", Architecture: "s390x"}
	if goruntime.GOARCH == "s390x" {
		other.Architecture = "riscv64"
	}
	host := v1.Platform{OS: "linux", Architecture: goruntime.GOARCH}
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: busyboxImage(t, "other-arch"), Descriptor: v1.Descriptor{Platform: &other}},
		mutate.IndexAddendum{Add: busyboxImage(t, "host-arch"), Descriptor: v1.Descriptor{Platform: &host}})
	r, _ := name.ParseReference(addr + "/hull/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	x := newImageH(t)
	// run pulls what is missing, as docker run does.
	if got := x.must("run", "--image", r.String(), "--quiet-pull", "img-multi"); got != "host-arch\n" {
		t.Fatalf("multi-arch run printed %q", got)
	}
}

func TestImageImportArchives(t *testing.T) {
	x := newImageH(t)
	img := busyboxImage(t, "from-archive")
	dir := t.TempDir()
	tag, _ := name.NewTag("example.com/hull/archive:1")
	if err := tarball.WriteToFile(filepath.Join(dir, "docker.tar"), tag, img); err != nil {
		t.Fatal(err)
	}
	lp, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(busyboxImage(t, "from-layout"), layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "layout:1"})); err != nil {
		t.Fatal(err)
	}
	x.must("image", "import", filepath.Join(dir, "docker.tar"))
	x.must("image", "import", filepath.Join(dir, "oci"))
	if got := x.must("run", "--image", "example.com/hull/archive:1", "img-arch"); got != "from-archive\n" {
		t.Fatalf("docker-archive image printed %q", got)
	}
	if got := x.must("run", "--image", "layout:1", "img-layout"); got != "from-layout\n" {
		t.Fatalf("OCI layout image printed %q", got)
	}
	ls := x.must("image", "ls")
	if !strings.Contains(ls, "example.com/hull/archive") || !strings.Contains(ls, "layout") {
		t.Fatalf("image ls:\n%s", ls)
	}
	// The busybox and /etc/group layers are shared by both images: each stored once.
	if ents, _ := os.ReadDir(filepath.Join(x.store, "layers")); len(ents) != 4 {
		t.Fatalf("%d layers stored, want 4 (busybox and /etc/group shared)", len(ents))
	}
}

// Bad references, missing images and corrupt archives: one error line, exit 1, nothing left.
func TestImageBadInput(t *testing.T) {
	addr := registry(t)
	x := newImageH(t)
	t.Log(x.fails("image", "pull", "NOT A//valid ref"))
	t.Log(x.fails("image", "pull", addr+"/hull/missing:1"))
	x.fails("run", "--image", addr+"/hull/missing:1", "img-bad1")
	x.fails("image", "inspect", "nothing-here:1")
	x.fails("image", "rm", "nothing-here:1")
	x.fails("image", "import", "/nonexistent/image.tar")

	dir := t.TempDir()
	tag, _ := name.NewTag("example.com/hull/corrupt:1")
	good := filepath.Join(dir, "good.tar")
	if err := tarball.WriteToFile(good, tag, busyboxImage(t, "x")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	bad := filepath.Join(dir, "bad.tar")
	if err := os.WriteFile(bad, b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(x.fails("image", "import", bad))
	if r := x.hull("state", "img-bad1"); r.code == 0 {
		t.Fatal("a failed run left a container")
	}
	x.storeEmpty("layers", "images", "containers", "tmp", "blobs/sha256")
	if b, _ := os.ReadFile(filepath.Join(x.store, "refs.json")); len(b) > 0 && string(b) != "{}" {
		t.Fatalf("refs: %s", b)
	}
}
