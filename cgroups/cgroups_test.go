package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// stepLog is a Recorder that keeps what it is told.
type stepLog struct{ steps []string }

func (l *stepLog) Step(op, args string, err error, _ time.Duration) {
	s := op + " " + args
	if err != nil {
		s += " ! " + err.Error()
	}
	l.steps = append(l.steps, s)
}

func TestValidatePath(t *testing.T) {
	for p, ok := range map[string]bool{
		"/hull/abc": true, "/a": true,
		"": false, "/": false, "hull/abc": false, "./x": false, "/hull/../etc": false,
		"/hull/abc/": false, "/hull//abc": false, "/a\x00b": false,
	} {
		err := validatePath(p)
		if (err == nil) != ok {
			t.Errorf("validatePath(%q) = %v, want ok=%v", p, err, ok)
		}
		if err != nil && !errors.Is(err, ErrPath) {
			t.Errorf("validatePath(%q) = %v, not ErrPath", p, err)
		}
	}
}

// New and Load check the path before they look at the host, so this runs anywhere.
func TestNewLoadRejectRelativePath(t *testing.T) {
	if _, err := New("hull/abc", nil, nil); !errors.Is(err, ErrPath) {
		t.Errorf("New(relative) = %v, want ErrPath", err)
	}
	if _, err := Load("hull/abc", nil, nil); !errors.Is(err, ErrPath) {
		t.Errorf("Load(relative) = %v, want ErrPath", err)
	}
}

func TestValidateCreated(t *testing.T) {
	mounts := []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified"}
	for _, tc := range []struct {
		created []string
		ok      bool
	}{
		{nil, true},
		{[]string{"/sys/fs/cgroup/memory/hull", "/sys/fs/cgroup/memory/hull/abc", "/sys/fs/cgroup/unified/hull/abc"}, true},
		{[]string{"/sys/fs/cgroup/memory"}, false},            // the mount itself
		{[]string{"/sys/fs/cgroup/memory/other"}, false},      // not an ancestor
		{[]string{"/sys/fs/cgroup/memory/hull/abc/x"}, false}, // below the cgroup
		{[]string{"/sys/fs/cgroup/pids/hull/abc"}, false},     // unknown hierarchy
		{[]string{"/etc"}, false},
		{[]string{"/sys/fs/cgroup/memory/hull/../../../etc"}, false},
	} {
		err := validateCreated(mounts, "/hull/abc", tc.created)
		if (err == nil) != tc.ok {
			t.Errorf("validateCreated(%v) = %v, want ok=%v", tc.created, err, tc.ok)
		}
	}
}

// fakeHost lays out two "hierarchies" as plain directories under a temporary root.
func fakeHost(t *testing.T) *layout {
	root := t.TempDir()
	lay := &layout{mode: "v1", v1Root: root, v1: map[string]string{}}
	for _, n := range []string{"memory", "pids"} {
		lay.v1[n] = filepath.Join(root, n)
		if err := os.Mkdir(lay.v1[n], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return lay
}

func TestCreatedBookkeeping(t *testing.T) {
	lay := fakeHost(t)
	// /hull exists already in memory only: it must not be in Created, nor be removed.
	pre := lay.v1["memory"] + "/hull"
	if err := os.Mkdir(pre, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := &stepLog{}
	b := newBase("/hull/abc", lay, rec)
	for _, m := range lay.mounts() {
		if err := b.mkdirAll(m); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{lay.v1["memory"] + "/hull/abc", lay.v1["pids"] + "/hull", lay.v1["pids"] + "/hull/abc"}
	if got := b.Created(); !slices.Equal(got, want) {
		t.Fatalf("Created = %v, want %v", got, want)
	}
	if len(rec.steps) != 3 || !strings.HasPrefix(rec.steps[0], "cgroup.mkdir ") {
		t.Errorf("steps = %q, want three cgroup.mkdir", rec.steps)
	}
	// Load from the persisted list; one directory has vanished meanwhile.
	if err := unix.Rmdir(lay.v1["memory"] + "/hull/abc"); err != nil {
		t.Fatal(err)
	}
	if err := validateCreated(lay.mounts(), "/hull/abc", b.Created()); err != nil {
		t.Fatal(err)
	}
	b2 := newBase("/hull/abc", lay, nil)
	b2.created = b.Created()
	if err := b2.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for _, d := range want {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s survived Delete", d)
		}
	}
	if _, err := os.Stat(pre); err != nil {
		t.Errorf("pre-existing %s was removed: %v", pre, err)
	}
	if err := b2.Delete(); err != nil {
		t.Errorf("second Delete: %v", err)
	}
}

// A parent we created that another container now uses stays; the cgroup itself must go.
func TestDeleteKeepsBusyParent(t *testing.T) {
	lay := fakeHost(t)
	b := newBase("/hull/abc", lay, nil)
	if err := b.mkdirAll(lay.v1["pids"]); err != nil {
		t.Fatal(err)
	}
	other := lay.v1["pids"] + "/hull/other"
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(); err != nil {
		t.Fatalf("Delete with a busy parent: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("other container's dir gone: %v", err)
	}
	// A leaf that cannot go is an error, with errno reachable.
	leaf := newBase("/hull", lay, nil)
	leaf.created = []string{lay.v1["pids"] + "/hull"}
	if err := leaf.Delete(); !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		t.Errorf("Delete of a non-empty leaf = %v, want ENOTEMPTY", err)
	}
}

func TestMkdirFailureNamesDir(t *testing.T) {
	lay := fakeHost(t)
	b := newBase("/hull/abc", lay, nil)
	err := b.mkdirAll(lay.v1Root + "/absent")
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "mkdir "+lay.v1Root+"/absent/hull") {
		t.Errorf("mkdirAll under a missing mount = %v", err)
	}
}

// Consecutive writes to one file (device rules) share one open of it, each value its own
// write(2): a regular file opened once shows them one after the other; a write to another file
// in between opens it again.
func TestApplyWritesSharesAnOpen(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"devices.allow", "devices.deny"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ws := []write{
		{ctrl: "devices", file: "devices.deny", value: "a", field: "devices"},
		{ctrl: "devices", file: "devices.allow", value: "c 1:3 rwm\n", field: "devices"},
		{ctrl: "devices", file: "devices.allow", value: "c 1:5 rwm\n", field: "devices"},
		{ctrl: "devices", file: "devices.deny", value: "c 1:7 rwm\n", field: "devices"},
	}
	rec := &stepLog{}
	b := &base{rec: rec}
	if err := b.applyWrites(ws, func(string) string { return dir }, present{}); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"devices.allow": "c 1:3 rwm\nc 1:5 rwm\n", "devices.deny": "c 1:7 rwm\n"} {
		if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if len(rec.steps) != 4 {
		t.Errorf("steps = %q, want one per write", rec.steps)
	}
}

func TestCheckAndApplyWrites(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"memory.max", "io.weight"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirOf := func(ctrl string) string {
		if ctrl == "hugetlb" {
			return "" // controller absent
		}
		return dir
	}
	ws := []write{
		{ctrl: "memory", file: "memory.max", value: "1048576", field: "memory.limit"},
		{ctrl: "io", file: "io.bfq.weight", value: "500", alt: "io.weight", altValue: "5045", field: "blockIO.weight"},
		{ctrl: "cpu", file: "cpu.idle", value: "0", field: "cpu.idle", optional: true},
		{ctrl: "hugetlb", file: "hugetlb.2MB.max", value: "0", field: "hugepageLimits", optional: true},
	}
	files := present{}
	if err := checkWrites(ws, dirOf, files); err != nil {
		t.Fatalf("checkWrites: %v", err)
	}
	rec := &stepLog{}
	b := &base{rec: rec}
	if err := b.applyWrites(ws, dirOf, files); err != nil {
		t.Fatalf("applyWrites: %v", err)
	}
	for f, want := range map[string]string{"memory.max": "1048576", "io.weight": "5045"} {
		if got, _ := os.ReadFile(filepath.Join(dir, f)); string(got) != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if len(rec.steps) != 2 || rec.steps[0] != "cgroup.write memory.max=1048576 in "+dir {
		t.Errorf("steps = %q", rec.steps)
	}

	for _, tc := range []struct {
		w    write
		want string
	}{
		{write{ctrl: "hugetlb", file: "hugetlb.2MB.max", value: "4096", field: "hugepageLimits"}, "hugepageLimits: the hugetlb controller is not available"},
		{write{ctrl: "cpu", file: "cpu.rt_runtime_us", value: "5", field: "cpu.realtimeRuntime"}, "cpu.realtimeRuntime: cpu.rt_runtime_us is not available"},
	} {
		err := checkWrites([]write{tc.w}, dirOf, present{})
		if !errors.Is(err, errors.ErrUnsupported) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("checkWrites(%s) = %v, want %q… and ErrUnsupported", tc.w.file, err, tc.want)
		}
	}
}

func TestWriteKeepsErrno(t *testing.T) {
	b := &base{rec: nopRecorder{}}
	err := b.write(t.TempDir(), "absent", "1")
	if !errors.Is(err, unix.ENOENT) || !strings.HasPrefix(err.Error(), `write "1" to `) {
		t.Errorf("write to a missing file = %v", err)
	}
}

func TestNoLimit(t *testing.T) {
	for in, want := range map[uint64]uint64{0: 0, 4096: 4096, 9223372036854771712: 0, ^uint64(0): 0} {
		if got := noLimit(in); got != want {
			t.Errorf("noLimit(%d) = %d, want %d", in, got, want)
		}
	}
}
