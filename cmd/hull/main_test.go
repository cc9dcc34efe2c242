package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
)

// hull runs the command line in-process and returns what it printed and its exit code.
func hull(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// oneLine fails unless s is exactly one non-empty line containing every part of want.
func oneLine(t *testing.T, what, s string, want ...string) {
	t.Helper()
	if !strings.HasSuffix(s, "\n") || strings.Count(s, "\n") != 1 || strings.TrimSpace(s) == "" {
		t.Errorf("%s: want exactly one line on stderr, got %q", what, s)
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s: stderr %q does not contain %q", what, s, w)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown command", []string{"--root", root, "frobnicate"}, `unknown command "frobnicate"`},
		{"unknown global flag", []string{"--bogus", "list"}, "bogus"},
		{"start without id", []string{"--root", root, "start"}, "usage"},
		{"state without id", []string{"--root", root, "state"}, "usage"},
		{"kill without id", []string{"--root", root, "kill"}, "usage"},
		{"delete without id", []string{"--root", root, "delete"}, "usage"},
		{"create without id", []string{"--root", root, "create", "--bundle", root}, "usage"},
		{"pause without id", []string{"--root", root, "pause"}, "usage"},
		{"resume without id", []string{"--root", root, "resume"}, "usage"},
		{"ps without id", []string{"--root", root, "ps"}, "usage"},
		{"state with two ids", []string{"--root", root, "state", "a", "b"}, "usage"},
		{"kill with three args", []string{"--root", root, "kill", "a", "9", "x"}, "usage"},
		{"unknown command flag", []string{"--root", root, "delete", "--bogus", "a"}, "bogus"},
		{"list with an argument", []string{"--root", root, "list", "extra"}, "usage"},
		{"list with a bad format", []string{"--root", root, "list", "--format", "yaml"}, "yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, code := hull(t, c.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr %q does not contain %q", stderr, c.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	t.Run("no command", func(t *testing.T) {
		_, stderr, code := hull(t)
		if code != 2 || !strings.Contains(stderr, "Usage") || !strings.Contains(stderr, "create") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("help", func(t *testing.T) {
		_, stderr, code := hull(t, "--help")
		if code != 0 || !strings.Contains(stderr, "Usage") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func TestKillBadSignal(t *testing.T) {
	root := t.TempDir()
	for _, sig := range []string{"FOO", "0", "65", "SIGRTMAX+1"} {
		_, stderr, code := hull(t, "--root", root, "kill", "some-id", sig)
		if code != 1 {
			t.Errorf("kill with signal %q: exit %d, want 1", sig, code)
		}
		oneLine(t, "kill "+sig, stderr, "invalid signal", sig)
	}
}

func TestVersion(t *testing.T) {
	for _, flag := range []string{"--version", "-v", "-version"} {
		stdout, stderr, code := hull(t, flag)
		if code != 0 || stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", flag, code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if !strings.HasPrefix(lines[0], "hull version ") || len(lines[0]) <= len("hull version ") {
			t.Errorf("%s: first line %q, want \"hull version X\"", flag, lines[0])
		}
		found := false
		for _, l := range lines {
			if l == "spec: "+specs.Version {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no \"spec: %s\" line in %q", flag, specs.Version, stdout)
		}
	}
}

// fakeContainer writes the state of a stopped container (pid 0) under root, so the read-only
// commands have something to find without root privileges.
func fakeContainer(t *testing.T, root, id string) {
	t.Helper()
	st := runtime.State{ID: id, Bundle: "/bundle/" + id, Rootfs: "/bundle/" + id + "/rootfs", Created: time.Now().UTC(),
		CgroupPath: "/hull/" + id, Spec: runtime.DefaultSpec(false)}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, id), 0o711); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, id, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestGlobalRootForms: podman and the shims pass global flags as --flag value and --flag=value.
func TestGlobalRootForms(t *testing.T) {
	root := t.TempDir()
	fakeContainer(t, root, "only-here")
	for _, args := range [][]string{
		{"--root", root, "list", "-q"},
		{"--root=" + root, "list", "-q"},
		{"-root", root, "list", "--quiet"},
	} {
		stdout, stderr, code := hull(t, args...)
		if code != 0 || stdout != "only-here\n" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	stdout, stderr, code := hull(t, "--root="+root, "state", "only-here")
	if code != 0 {
		t.Fatalf("state: exit %d, stderr %q", code, stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("state is not JSON: %v: %s", err, stdout)
	}
	if st["id"] != "only-here" || st["status"] != "stopped" || st["pid"] != float64(0) ||
		st["bundle"] != "/bundle/only-here" || st["ociVersion"] != specs.Version {
		t.Errorf("state: %v", st)
	}
	stdout, _, code = hull(t, "--root="+root, "list", "--format=json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || code != 0 {
		t.Fatalf("list --format=json: exit %d, %v: %s", code, err, stdout)
	}
	if len(list) != 1 || list[0]["id"] != "only-here" || list[0]["status"] != "stopped" {
		t.Errorf("list --format=json: %v", list)
	}
	// An empty root lists nothing, as JSON an empty array rather than null.
	stdout, _, code = hull(t, "--root", filepath.Join(root, "missing"), "list", "--format", "json")
	if code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("list of an empty root: exit %d, %q", code, stdout)
	}
	// The stopped container's ps is an empty array, and kill --all of it succeeds (containerd).
	if stdout, stderr, code := hull(t, "--root", root, "ps", "--format", "json", "only-here"); code != 0 || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("ps of a stopped container: exit %d, %q, %q", code, stdout, stderr)
	}
	if _, stderr, code := hull(t, "--root", root, "kill", "--all", "only-here", "9"); code != 0 {
		t.Errorf("kill --all of a stopped container: exit %d, %q", code, stderr)
	}
	_, stderr, code = hull(t, "--root", root, "kill", "only-here", "9")
	if code != 1 {
		t.Errorf("kill of a stopped container: exit %d", code)
	}
	oneLine(t, "kill of a stopped container", stderr, "container not running")
}

// TestUnknownID: every command that reads a container says "does not exist" (the shims match
// that text) and exits 1; delete --force succeeds, as containerd and podman expect.
func TestUnknownID(t *testing.T) {
	root := t.TempDir()
	for _, args := range [][]string{
		{"state", "nope"}, {"start", "nope"}, {"kill", "nope"}, {"kill", "nope", "9"}, {"kill", "--all", "nope", "9"},
		{"delete", "nope"}, {"pause", "nope"}, {"resume", "nope"}, {"ps", "nope"}, {"ps", "--format", "json", "nope"},
	} {
		stdout, stderr, code := hull(t, append([]string{"--root", root}, args...)...)
		if code != 1 {
			t.Errorf("%q: exit %d, want 1", args, code)
		}
		oneLine(t, strings.Join(args, " "), stderr, "does not exist", "nope")
		if stdout != "" {
			t.Errorf("%q: stdout %q", args, stdout)
		}
	}
	if _, stderr, code := hull(t, "--root", root, "delete", "--force", "nope"); code != 0 || stderr != "" {
		t.Errorf("delete --force of an unknown id: exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := hull(t, "--root", root, "delete", "-f", "nope"); code != 0 || stderr != "" {
		t.Errorf("delete -f of an unknown id: exit %d, stderr %q", code, stderr)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 0 {
		t.Errorf("reading unknown ids wrote into the root: %v", ents)
	}
}

// TestInvalidID: an id that is no directory name is refused by every command, before any path
// is built from it. A sibling of the root named x holds a container's state: "../x" must never
// reach it (with the default root, "../.." would be "/").
func TestInvalidID(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"state", "../x"}, {"start", "../x"}, {"kill", "../x", "9"}, {"delete", "../x"}, {"delete", "--force", "../x"},
		{"pause", "../x"}, {"resume", "../x"}, {"ps", "../x"}, {"create", "--bundle", base, "../x"},
	} {
		fakeContainer(t, base, "x")
		_, stderr, code := hull(t, append([]string{"--root", root}, args...)...)
		if code != 1 {
			t.Errorf("%q: exit %d, want 1", args, code)
		}
		oneLine(t, strings.Join(args, " "), stderr, "invalid container id")
		if _, err := os.Stat(filepath.Join(base, "x", "state.json")); err != nil {
			t.Errorf("%q removed a container's state outside the root: %v", args, err)
		}
	}
}

// logLine is one logrus-style JSON line, as containerd's shim and podman read it.
type logLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Time  string `json:"time"`
}

func readLogLines(t *testing.T, path string) []logLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	var out []logLine
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		out = append(out, ll)
	}
	return out
}

// TestLogJSON: with --log FILE --log-format json an error is one JSON line in the file, with a
// lower-case level and an RFC 3339 time, and one plain line on stderr.
func TestLogJSON(t *testing.T) {
	for _, form := range [][]string{
		{"--log", "LOG", "--log-format", "json"}, // containerd's shim
		{"--log-format=json", "--log", "LOG"},    // podman
		{"--log=LOG", "--log-format=json"},       // both with =
	} {
		t.Run(strings.Join(form, " "), func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "log.json")
			var args []string
			for _, a := range form {
				args = append(args, strings.ReplaceAll(a, "LOG", log))
			}
			// create of a bundle without config.json: the shim shows this msg to the user.
			args = append(args, "--root", filepath.Join(dir, "root"), "create", "--bundle", dir, "bad")
			stdout, stderr, code := hull(t, args...)
			if code != 1 || stdout != "" {
				t.Errorf("exit %d, stdout %q", code, stdout)
			}
			oneLine(t, "stderr", stderr, "config.json", "no such file or directory")
			if strings.Contains(stderr, "{") {
				t.Errorf("stderr is not plain: %q", stderr)
			}
			lines := readLogLines(t, log)
			last := lines[len(lines)-1]
			if last.Level != "error" {
				t.Errorf("level %q, want \"error\"", last.Level)
			}
			if !strings.Contains(last.Msg, "config.json") || !strings.Contains(last.Msg, "no such file or directory") {
				t.Errorf("msg %q does not say what failed", last.Msg)
			}
			if strings.TrimSpace(strings.TrimPrefix(stderr, "hull: ")) != last.Msg {
				t.Errorf("stderr %q and log msg %q differ", stderr, last.Msg)
			}
			if _, err := time.Parse(time.RFC3339Nano, last.Time); err != nil {
				t.Errorf("time %q: %v", last.Time, err)
			}
			if _, err := os.Stat(filepath.Join(dir, "root", "bad")); err == nil {
				t.Error("a failed create left a state dir")
			}
		})
	}
}

// TestLogAppends: the shim reads the last error of a log file it keeps across calls.
func TestLogAppends(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.json")
	for _, id := range []string{"first", "second"} {
		if _, _, code := hull(t, "--log", log, "--log-format", "json", "--root", dir, "state", id); code != 1 {
			t.Fatalf("state %s: exit %d", id, code)
		}
	}
	lines := readLogLines(t, log)
	if len(lines) != 2 || !strings.Contains(lines[0].Msg, "first") || !strings.Contains(lines[1].Msg, "second") {
		t.Errorf("log lines %+v", lines)
	}
}

func TestLogText(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.txt")
	_, stderr, code := hull(t, "--log", log, "--root", dir, "state", "nope")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	oneLine(t, "stderr", stderr, "does not exist")
	b, _ := os.ReadFile(log)
	if !strings.Contains(string(b), "level=error") || !strings.Contains(string(b), "does not exist") {
		t.Errorf("text log %q", b)
	}
}

// TestLogFormatUnknown: runc refuses an unknown --log-format whether or not --log is given.
func TestLogFormatUnknown(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--log", filepath.Join(dir, "log"), "--log-format", "xml", "--root", dir, "list"},
		{"--log-format=xml", "--root", dir, "list"},
	} {
		stdout, stderr, code := hull(t, args...)
		if code == 0 {
			t.Errorf("%q: exit 0, stdout %q", args, stdout)
			continue
		}
		oneLine(t, strings.Join(args, " "), stderr, "log-format", "xml")
	}
}

func TestSpec(t *testing.T) {
	dir := t.TempDir()
	stdout, stderr, code := hull(t, "spec", "--bundle", dir)
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("spec: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // everything written is a field of the spec
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("config.json does not parse as a spec: %v", err)
	}
	if s.Version != specs.Version || s.Root == nil || s.Root.Path != "rootfs" || s.Process == nil ||
		len(s.Process.Args) == 0 || s.Process.Cwd != "/" || s.Linux == nil || s.Linux.Seccomp == nil {
		t.Errorf("config.json: %s", b)
	}
	// It is exactly DefaultSpec, which the runtime package proves valid.
	want, _ := json.Marshal(runtime.DefaultSpec(false))
	got, _ := json.Marshal(&s)
	if !bytes.Equal(got, want) {
		t.Errorf("config.json differs from DefaultSpec(false)")
	}

	// A second spec refuses to overwrite the file, and leaves it alone.
	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = hull(t, "spec", "-b", dir)
	if code != 1 {
		t.Errorf("spec over an existing config.json: exit %d", code)
	}
	oneLine(t, "spec over config.json", stderr, "exists")
	if b, _ := os.ReadFile(path); string(b) != "mine" {
		t.Errorf("config.json was overwritten: %q", b)
	}
}

func TestSpecRootless(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := hull(t, "spec", "--rootless", "--bundle", dir); code != 0 {
		t.Fatalf("spec --rootless: exit %d, %s", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	hasUser := false
	for _, ns := range s.Linux.Namespaces {
		hasUser = hasUser || ns.Type == specs.UserNamespace
	}
	uid := uint32(os.Getuid())
	if !hasUser || len(s.Linux.UIDMappings) != 1 || s.Linux.UIDMappings[0].HostID != uid || s.Linux.UIDMappings[0].ContainerID != 0 {
		t.Errorf("rootless: user ns %v, uid mappings %+v (want 0 → %d)", hasUser, s.Linux.UIDMappings, uid)
	}
	if s.Linux.Resources != nil {
		t.Errorf("rootless config has resources: %+v", s.Linux.Resources)
	}
}

func TestFeatures(t *testing.T) {
	stdout, stderr, code := hull(t, "features")
	if code != 0 || stderr != "" {
		t.Fatalf("features: exit %d, stderr %q", code, stderr)
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(stdout), &f); err != nil {
		t.Fatalf("features is not JSON: %v", err)
	}
	if f["ociVersionMin"] != "1.0.0" || f["ociVersionMax"] != specs.Version {
		t.Errorf("ociVersionMin %v, ociVersionMax %v", f["ociVersionMin"], f["ociVersionMax"])
	}
	linux, _ := f["linux"].(map[string]any)
	if linux == nil || linux["namespaces"] == nil || linux["capabilities"] == nil {
		t.Errorf("features has no linux namespaces/capabilities: %s", stdout)
	}
	hooks, _ := f["hooks"].([]any)
	if len(hooks) != 6 {
		t.Errorf("hooks %v", hooks)
	}
	if _, _, code := hull(t, "features", "extra"); code != 2 {
		t.Errorf("features with an argument: exit %d", code)
	}
}

func TestTraceFlags(t *testing.T) {
	root := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
		want string
		code int
	}{
		{"unknown trace format", []string{"--root", root, "--trace", "yaml", "list"}, `unknown --trace "yaml"`, 2},
		{"trace file without trace", []string{"--root", root, "--trace-file", filepath.Join(root, "t"), "list"}, "--trace-file needs --trace json", 2},
		{"unwritable trace file", []string{"--root", root, "--trace", "json", "--trace-file", filepath.Join(root, "no/such/dir/t"), "list"}, "open trace file", 1},
	} {
		_, stderr, code := hull(t, c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d", c.name, code, c.code)
		}
		oneLine(t, c.name, stderr, c.want)
	}
}

// TestDryRunBadBundle: a dry run reads the bundle like create does, refuses what create would
// refuse with one line, and never makes the state root.
func TestDryRunBadBundle(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	bundle := t.TempDir()
	_, stderr, code := hull(t, "--root", root, "run", "--dry-run", "--bundle", bundle, "x")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	oneLine(t, "dry run without config.json", stderr, "config.json")
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("state root made by a dry run: %v", err)
	}
}
