package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// maliciousTars are layers built to escape: each must be refused and leave nothing outside the
// layer directory. The sandbox root is two levels up from entries in the layer.
func maliciousTars(t testing.TB, sandboxRoot string) map[string][]byte {
	huge := strings.Repeat("x", 2<<20)
	return map[string][]byte{
		"dotdot":              mkTar(t, file("../evil", "x")),
		"dotdot-deep":         mkTar(t, dir("a/"), file("a/../../evil", "x")),
		"absolute":            mkTar(t, file("/evil", "x")),
		"symlink-dir-escape":  mkTar(t, symlink("esc", ".."), file("esc/evil", "x")),
		"symlink-abs-escape":  mkTar(t, symlink("esc", sandboxRoot), file("esc/evil", "x")),
		"symlink-then-dir":    mkTar(t, symlink("esc", "/"), dir("esc/evil/"), file("esc/evil/x", "x")),
		"hardlink-dotdot":     mkTar(t, hardlink("evil", "../sentinel")),
		"hardlink-absolute":   mkTar(t, hardlink("evil", filepath.Join(sandboxRoot, "sentinel"))),
		"hardlink-via-link":   mkTar(t, symlink("esc", ".."), hardlink("evil", "esc/sentinel")),
		"whiteout-escape":     mkTar(t, file("a/.wh...", "")),
		"huge-pax-header":     hugePAX(t, huge),
		"long-name":           mkTar(t, file(strings.Repeat("a/", 2100)+"f", "x")),
		"long-component":      mkTar(t, file(strings.Repeat("a", 300), "x")),
		"symlink-replace-dir": mkTar(t, dir("d/"), symlink("d", ".."), file("d/evil", "x")),
	}
}

// hugePAX is a tarball whose first entry is a PAX extended header of several MiB: archive/tar
// refuses to write one, so the type flag of a plain entry is patched.
func hugePAX(t testing.TB, body string) []byte {
	b := mkTar(t, file("PaxHeaders/f", "30 comment="+body+"\n"), file("f", "x"))
	b[156] = tar.TypeXHeader
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func TestExtractRefusesEscapes(t *testing.T) {
	for _, privileged := range []bool{false, os.Geteuid() == 0} {
		probe := newSandbox(t)
		for name := range maliciousTars(t, probe.root) {
			t.Run(name, func(t *testing.T) {
				sb := newSandbox(t)
				tb := maliciousTars(t, sb.root)[name]
				_, err := extract(bytes.NewReader(tb), sb.layer, privileged)
				if err == nil {
					t.Fatalf("extract accepted %s", name)
				}
				if out := sb.outside(t); len(out) > 0 {
					t.Fatalf("files outside the layer: %v (err %v)", out, err)
				}
				if _, serr := os.Lstat(filepath.Join(sb.root, "evil")); serr == nil {
					t.Fatal("evil landed beside the layer")
				}
				t.Log(err)
			})
		}
	}
}

func TestExtractTruncated(t *testing.T) {
	tb := mkTar(t, file("a", strings.Repeat("x", 10000)))
	sb := newSandbox(t)
	if _, err := extract(bytes.NewReader(tb[:3000]), sb.layer, false); err == nil {
		t.Fatal("a truncated layer was accepted")
	}
}

func TestExtractLayer(t *testing.T) {
	privileged := os.Geteuid() == 0
	tb := mkTar(t,
		dir("etc/"), file("etc/hostname", "hull\n"),
		entry{name: "bin/tool", typ: tar.TypeReg, mode: 0o4755, body: "#!"},
		symlink("bin/sh", "/bin/busybox"),
		hardlink("bin/tool2", "bin/tool"),
		entry{name: "ro/", typ: tar.TypeDir, mode: 0o555}, file("ro/inside", "x"),
		entry{name: "fifo", typ: tar.TypeFifo, mode: 0o600},
		entry{name: "x", typ: tar.TypeReg, mode: 0o644, body: "y", pax: map[string]string{
			"SCHILY.xattr.user.hull": "yes", "SCHILY.xattr.trusted.overlay.opaque": "y"}},
		file("gone/.wh.old", ""), file("opq/.wh..wh..opq", ""), file("opq/new", "n"),
		file("dup", "first"), file("dup", "second"),
		entry{name: "dev/null", typ: tar.TypeChar, mode: 0o666},
	)
	// Owners: a file of uid 1234, gid 5678 (kept only as root).
	tb = append(tb[:len(tb)-1024], mkTarOwned(t, "owned", 1234, 5678)...)
	sb := newSandbox(t)
	t.Cleanup(func() { os.Chmod(filepath.Join(sb.layer, "ro"), 0o755) }) // so a non-root TempDir can go
	meta, err := extract(bytes.NewReader(tb), sb.layer, privileged)
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(sb.layer, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("etc/hostname") != "hull\n" || read("dup") != "second" || read("ro/inside") != "x" {
		t.Fatal("file contents differ")
	}
	if l, _ := os.Readlink(filepath.Join(sb.layer, "bin/sh")); l != "/bin/busybox" {
		t.Fatalf("symlink target %q", l)
	}
	var a, b unix.Stat_t
	_ = unix.Stat(filepath.Join(sb.layer, "bin/tool"), &a)
	_ = unix.Stat(filepath.Join(sb.layer, "bin/tool2"), &b)
	if a.Ino != b.Ino {
		t.Fatal("hard link is a copy")
	}
	if a.Mode&0o7777 != 0o4755 {
		t.Fatalf("mode %o, want 4755", a.Mode&0o7777)
	}
	fi, _ := os.Stat(filepath.Join(sb.layer, "ro"))
	if fi.Mode().Perm() != 0o555 {
		t.Fatalf("dir mode %v", fi.Mode())
	}
	if fi, _ := os.Lstat(filepath.Join(sb.layer, "fifo")); fi == nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatal("no fifo")
	}
	v := make([]byte, 8)
	if n, err := unix.Lgetxattr(filepath.Join(sb.layer, "x"), "user.hull", v); err == nil && string(v[:n]) != "yes" {
		t.Fatalf("xattr %q", v[:n])
	} else if err != nil && err != unix.ENOTSUP {
		t.Fatalf("user xattr not kept: %v", err)
	}
	if _, err := unix.Lgetxattr(filepath.Join(sb.layer, "x"), "trusted.overlay.opaque", v); err == nil {
		t.Fatal("a forged overlay xattr was kept")
	}
	if strings.Join(meta.Whiteouts, ",") != "/gone/old" || strings.Join(meta.Opaques, ",") != "/opq" {
		t.Fatalf("whiteouts %v opaques %v", meta.Whiteouts, meta.Opaques)
	}
	var own unix.Stat_t
	if err := unix.Lstat(filepath.Join(sb.layer, "owned"), &own); err != nil {
		t.Fatal(err)
	}
	var null unix.Stat_t
	nullErr := unix.Lstat(filepath.Join(sb.layer, "dev/null"), &null)
	if privileged {
		if own.Uid != 1234 || own.Gid != 5678 {
			t.Fatalf("owner %d:%d, want 1234:5678", own.Uid, own.Gid)
		}
		if nullErr != nil || null.Mode&unix.S_IFMT != unix.S_IFCHR || null.Rdev != unix.Mkdev(1, 3) {
			t.Fatalf("device node not made as root: %v", nullErr)
		}
	} else if nullErr == nil || meta.Skipped != 1 {
		t.Fatalf("a device node was made without root (skipped %d)", meta.Skipped)
	}
	if privileged {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(sb.layer, "gone/old"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Fatalf("whiteout is not a 0/0 char device: %v", err)
		}
		n, err := unix.Lgetxattr(filepath.Join(sb.layer, "opq"), "trusted.overlay.opaque", v)
		if err != nil || string(v[:n]) != "y" {
			t.Fatalf("opaque dir not marked: %v", err)
		}
	} else if _, err := os.Lstat(filepath.Join(sb.layer, "gone/old")); err == nil {
		t.Fatal("a whiteout was written without root")
	}
}

// mkTarOwned is a one-file tarball whose file has the given owner.
func mkTarOwned(t testing.TB, name string, uid, gid int) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o600, Uid: uid, Gid: gid}); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return buf.Bytes()
}

// FuzzExtract feeds arbitrary bytes to the extractor: whatever it accepts or refuses, nothing
// may appear outside the layer directory. `go test` runs the seeds; `go test -fuzz
// FuzzExtract ./rootfs/image/` searches further.
func FuzzExtract(f *testing.F) {
	seedDir := f.TempDir()
	for name, tb := range maliciousTars(f, seedDir) {
		if len(tb) < 64<<10 { // the multi-MiB header seed would slow every mutation down
			f.Add(tb)
		}
		_ = name
	}
	f.Add(mkTar(f, dir("a/"), file("a/b", "c"), symlink("l", "a"), hardlink("h", "a/b"), file("a/.wh.b", ""), file(".wh..wh..opq", "")))
	f.Fuzz(func(t *testing.T, data []byte) {
		sb := newSandbox(t)
		_, _ = extract(bytes.NewReader(data), sb.layer, false)
		if out := sb.outside(t); len(out) > 0 {
			t.Fatalf("files outside the layer: %v", out)
		}
	})
}
