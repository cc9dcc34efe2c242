package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entry is one tar entry for the tests' tarballs.
type entry struct {
	name, body, link string
	typ              byte
	mode             int64
	pax              map[string]string
}

func file(name, body string) entry {
	return entry{name: name, body: body, typ: tar.TypeReg, mode: 0o644}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, to string) entry {
	return entry{name: name, link: to, typ: tar.TypeSymlink, mode: 0o777}
}
func hardlink(name, to string) entry {
	return entry{name: name, link: to, typ: tar.TypeLink, mode: 0o644}
}

func mkTar(t testing.TB, es ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), PAXRecords: e.pax}
		if e.typ == tar.TypeChar {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if e.pax != nil {
			hdr.Format = tar.FormatPAX
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a temp dir holding the layer dir and a sentinel beside it; outside reports any
// file that appeared in the sandbox but outside the layer dir.
type sandbox struct{ root, layer string }

func newSandbox(t testing.TB) sandbox {
	root := t.TempDir()
	sb := sandbox{root: root, layer: filepath.Join(root, "layer")}
	if err := os.Mkdir(sb.layer, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sentinel"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	return sb
}

func (sb sandbox) outside(t testing.TB) []string {
	t.Helper()
	var out []string
	ents, err := os.ReadDir(sb.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Name() != "layer" && e.Name() != "sentinel" {
			out = append(out, e.Name())
		}
	}
	if b, err := os.ReadFile(filepath.Join(sb.root, "sentinel")); err != nil || string(b) != "keep" {
		out = append(out, "sentinel changed")
	}
	return out
}

func hasPrefixAny(s string, ps ...string) bool {
	for _, p := range ps {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}
