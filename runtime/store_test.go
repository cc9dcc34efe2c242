package runtime

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckID(t *testing.T) {
	for _, id := range []string{"a", "web-1", "A_b.c+d", "0123456789abcdef", "..a", "a..", strings.Repeat("x", 200)} {
		if err := checkID(id); err != nil {
			t.Errorf("checkID(%q) = %v, want ok", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", "/abs", "a b", "a\nb", "a:b", "x\x00", "é"} {
		if err := checkID(id); err == nil {
			t.Errorf("checkID(%q) = nil, want an error", id)
		}
	}
}

// TestLoadUnknown: an unknown id reads "does not exist" (the shims match that text), and
// errors.Is finds ErrNotExist; a bad id is refused before any path is built from it.
func TestLoadUnknown(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	_, err := r.load("nope")
	if !errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("load of an unknown id: %v", err)
	}
	if _, err := r.lock("nope"); !errors.Is(err, ErrNotExist) {
		t.Errorf("lock of an unknown id: %v", err)
	}
	if _, err := r.load("../x"); err == nil || errors.Is(err, ErrNotExist) || !strings.Contains(err.Error(), "invalid container id") {
		t.Errorf("load of ../x: %v", err)
	}
}

// TestSaveLoad: the state file round-trips, is private, and ids lists only complete containers.
func TestSaveLoad(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	for _, id := range []string{"b", "a"} {
		if err := os.Mkdir(r.dir(id), 0o711); err != nil {
			t.Fatal(err)
		}
		if err := r.save(&State{ID: id, Bundle: "/bundle/" + id, Pid: 7, CgroupPath: "/hull/" + id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(r.dir("halfmade"), 0o711); err != nil { // no state file
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(r.Root, "bad id"), 0o711); err != nil {
		t.Fatal(err)
	}
	s, err := r.load("a")
	if err != nil || s.ID != "a" || s.Bundle != "/bundle/a" || s.Pid != 7 || s.CgroupPath != "/hull/a" {
		t.Fatalf("load: %+v, %v", s, err)
	}
	fi, err := os.Stat(r.stateFile("a"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v, %v", fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(r.dir("a"), ".state.json.*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	ids, err := r.ids()
	if err != nil || strings.Join(ids, ",") != "a,b" {
		t.Errorf("ids = %v, %v; want a,b", ids, err)
	}
	if ids, err := (&Runtime{Root: filepath.Join(r.Root, "missing")}).ids(); err != nil || len(ids) != 0 {
		t.Errorf("ids of a missing root: %v, %v", ids, err)
	}
}

// TestLockRefusesBadID: lock is the first thing start, delete, pause and resume do, so it must
// check the id itself: filepath.Join(root, "../x") is a directory outside the root (and with
// the default root /run/hull, "../.." is "/", which Delete would then remove).
func TestLockRefusesBadID(t *testing.T) {
	base := t.TempDir()
	r := &Runtime{Root: filepath.Join(base, "root")}
	if err := os.MkdirAll(filepath.Join(base, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(r.Root, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"../x", "..", "../root"} {
		unlock, err := r.lock(id)
		if err == nil {
			unlock()
			t.Errorf("lock(%q) locked %s, outside or at the root", id, r.dir(id))
			continue
		}
		if !strings.Contains(err.Error(), "invalid container id") {
			t.Errorf("lock(%q) = %v, want an invalid id error", id, err)
		}
	}
}

// TestLoadBrief: loadBrief keeps everything of the state but the spec, and of the spec the
// version, annotations, hooks and whether there is a process.
func TestLoadBrief(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	full := &specs.Spec{Version: "1.2.0", Annotations: map[string]string{"a": "b"}, Hostname: "h",
		Mounts:  []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
		Linux:   &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}, Sysctl: map[string]string{"x": "1"}},
		Process: &specs.Process{Args: []string{"/bin/true"}, Cwd: "/"},
		Hooks:   &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/hook"}}}}
	for id, spec := range map[string]*specs.Spec{"full": full, "noproc": {Version: "1.0.2"}} {
		if err := os.Mkdir(r.dir(id), 0o711); err != nil {
			t.Fatal(err)
		}
		if err := r.save(&State{ID: id, Bundle: "/b", Pid: 9, PidStart: 99, CgroupPath: "/hull/" + id, Spec: spec}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := r.loadBrief("full")
	if err != nil {
		t.Fatal(err)
	}
	if s.ID != "full" || s.Bundle != "/b" || s.Pid != 9 || s.PidStart != 99 || s.CgroupPath != "/hull/full" {
		t.Errorf("state fields: %+v", s)
	}
	sp := s.Spec
	if sp.Version != "1.2.0" || sp.Annotations["a"] != "b" || sp.Process == nil || sp.Hooks == nil ||
		len(sp.Hooks.Poststart) != 1 || sp.Hooks.Poststart[0].Path != "/bin/hook" {
		t.Errorf("brief spec: %+v", sp)
	}
	if len(sp.Mounts) != 1 || sp.Mounts[0].Type != "proc" || len(sp.Linux.Namespaces) != 1 || sp.Linux.Namespaces[0].Type != specs.PIDNamespace {
		t.Errorf("brief spec mounts/namespaces: %+v %+v", sp.Mounts, sp.Linux)
	}
	if sp.Hostname != "" || len(sp.Process.Args) != 0 || sp.Linux.Sysctl != nil {
		t.Errorf("brief spec holds more than it says: %+v %+v", sp, sp.Process)
	}
	if s, err := r.loadBrief("noproc"); err != nil || s.Spec.Process != nil || s.Spec.Linux == nil {
		t.Errorf("no process: %+v, %v", s, err)
	}
	if _, err := r.loadBrief("nope"); !errors.Is(err, ErrNotExist) {
		t.Errorf("unknown id: %v", err)
	}
}

// TestStateFileRoundTrip: every field of State survives save and load (the generated codec of
// statefile.go), and a state file in encoding/json's hands, with a field this hull does not
// know (a state file outlives the hull that wrote it), loads the same.
func TestStateFileRoundTrip(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	in := &State{ID: "c", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, PidStart: 12345,
		Created: time.Date(2026, 11, 24, 16, 0, 0, 123456789, time.UTC), CgroupPath: "/hull/c",
		CgroupCreated: []string{"/sys/fs/cgroup/pids/hull", "/sys/fs/cgroup/pids/hull/c"},
		Spec: &specs.Spec{Version: "1.2.0", Process: &specs.Process{Args: []string{"sh"}, Cwd: "/"},
			Annotations: map[string]string{"a": "b"}, Linux: &specs.Linux{CgroupsPath: "/hull/c"}},
		Network: "net0", Address: "10.88.0.2", Service: "svc", Owner: "stack/web"}
	if err := os.Mkdir(r.dir("c"), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := r.save(in); err != nil {
		t.Fatal(err)
	}
	out, err := r.load("c")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", out, in)
	}

	// The same state as encoding/json writes it, plus a field from some other version.
	b, err := json.Marshal(struct {
		*State
		Spec  *specs.Spec `json:"spec"`
		Extra string      `json:"someFutureField"`
	}{in, in.Spec, "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.stateFile("c"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err = r.load("c"); err != nil || !reflect.DeepEqual(in, out) {
		t.Errorf("load of encoding/json's state file: %v\n%+v\nwant\n%+v", err, out, in)
	}
	if err := os.WriteFile(r.stateFile("c"), []byte(`{"id":"c","pid":`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := r.load("c"); err == nil || !strings.Contains(err.Error(), "parse state of c") {
		t.Errorf("a truncated state file: %v", err)
	}
}
