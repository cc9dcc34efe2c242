//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// recordHook is a hook script that leaves, in $DIR, what it saw: the state on its stdin
// ($1.state), its environment less what sh adds itself ($1.env; not read from /proc/$$, as a
// createContainer hook sees the host's /proc from the container's pid namespace), its mount
// namespace ($1.mnt), for poststart
// whether the container's pid was alive ($1.alive); and it appends $1 to $DIR/order.
const recordHook = `#!/bin/sh
cat >"$DIR/$1.state"
env | grep -v -e '^PWD=' -e '^SHLVL=' | sort >"$DIR/$1.env"
readlink /proc/self/ns/mnt >"$DIR/$1.mnt"
pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$DIR/$1.state")
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo yes; else echo no; fi >"$DIR/$1.alive"
[ -z "$SLOW" ] || sleep "$SLOW"
echo "$1" >>"$DIR/order"
`

// writeScript writes an executable script and returns its path.
func writeScript(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func readOrder(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "order"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return lines(string(b))
}

func TestHooksLifecycle(t *testing.T) {
	x := newH(t, "sleep", "30")
	dir := x.hostDir("/shared")
	host := writeScript(t, filepath.Join(t.TempDir(), "record.sh"), recordHook)
	env := []string{"DIR=" + dir, "HOOK_VAR=a b", "PATH=/usr/bin:/bin"} // sorted, as recorded
	hook := func(name string) specs.Hook { return specs.Hook{Path: host, Args: []string{host, name}, Env: env} }
	x.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{hook("prestart")}, //nolint:staticcheck // still part of the spec
		CreateRuntime:   []specs.Hook{hook("createRuntime")},
		CreateContainer: []specs.Hook{hook("createContainer")},
		Poststart:       []specs.Hook{hook("poststart")},
		Poststop:        []specs.Hook{hook("poststop")},
	}
	const id = "hooks"
	x.create(id)
	if got, want := readOrder(t, dir), []string{"prestart", "createRuntime", "createContainer"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after create, hooks ran: %q, want %q", got, want)
	}
	pid := x.initPid(id)
	containerMnt, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
	if err != nil {
		t.Fatal(err)
	}
	x.ok("start", id)
	if got, want := readOrder(t, dir), []string{"prestart", "createRuntime", "createContainer", "poststart"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after start, hooks ran: %q, want %q", got, want)
	}
	x.ok("kill", id, "KILL")
	x.waitStopped(id)
	if got := readOrder(t, dir); len(got) != 4 {
		t.Errorf("before delete, hooks ran: %q; poststop must wait for delete", got)
	}
	x.ok("delete", id)
	if got := readOrder(t, dir); len(got) != 5 || got[4] != "poststop" {
		t.Errorf("after delete, hooks ran: %q, want poststop last", got)
	}

	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	status := map[string][]string{
		// The create-time hooks are lifecycle steps 3-5, and "created" is "after step 2"
		// (runtime-tools' hooks_stdin checks prestart's).
		"prestart": {"created"}, "createRuntime": {"created"},
		"createContainer": {"created"}, "poststart": {"running"}, "poststop": {"stopped"},
	}
	for name, statuses := range status {
		var st specs.State
		b := mustRead(t, filepath.Join(dir, name+".state"))
		if err := json.Unmarshal([]byte(b), &st); err != nil {
			t.Errorf("%s: state on stdin is not JSON: %v: %q", name, err, b)
			continue
		}
		if st.ID != id || st.Bundle != x.bundle || st.Version == "" {
			t.Errorf("%s: state id %q bundle %q version %q, want %q %q", name, st.ID, st.Bundle, st.Version, id, x.bundle)
		}
		if name != "poststop" && st.Pid != pid {
			t.Errorf("%s: state pid %d, want the init's %d", name, st.Pid, pid)
		}
		if !slices.Contains(statuses, string(st.Status)) {
			t.Errorf("%s: state status %q, want one of %q", name, st.Status, statuses)
		}
		if got := lines(mustRead(t, filepath.Join(dir, name+".env"))); strings.Join(got, "\n") != strings.Join(env, "\n") {
			t.Errorf("%s: env %q, want exactly %q", name, got, env)
		}
		mnt := strings.TrimSpace(mustRead(t, filepath.Join(dir, name+".mnt")))
		switch name {
		case "createContainer":
			if mnt != containerMnt {
				t.Errorf("%s ran in mount namespace %s, want the container's %s", name, mnt, containerMnt)
			}
		default:
			if mnt != hostMnt {
				t.Errorf("%s ran in mount namespace %s, want the runtime's %s", name, mnt, hostMnt)
			}
		}
	}
	if alive := strings.TrimSpace(mustRead(t, filepath.Join(dir, "poststart.alive"))); alive != "yes" {
		t.Errorf("poststart did not see the container's pid %d alive", pid)
	}
}

func TestHooksStartContainer(t *testing.T) {
	x := newH(t, "sh", "-c", "head -n 1 /shared/order; readlink /proc/self/ns/mnt")
	dir := x.hostDir("/shared")
	host := writeScript(t, filepath.Join(t.TempDir(), "record.sh"), recordHook)
	// startContainer runs inside the container after pivot_root: its path and $DIR are the
	// container's. It is slow on purpose: poststart must still come after it, and the process too.
	writeScript(t, filepath.Join(x.bundle, "rootfs/bin/record.sh"), recordHook)
	inside := []string{"DIR=/shared", "PATH=/bin", "SLOW=0.3"} // sorted, as recorded
	x.spec.Hooks = &specs.Hooks{
		StartContainer: []specs.Hook{{Path: "/bin/record.sh", Args: []string{"record.sh", "startContainer"}, Env: inside}},
		Poststart:      []specs.Hook{{Path: host, Args: []string{host, "poststart"}, Env: []string{"DIR=" + dir, "PATH=/usr/bin:/bin"}}},
	}
	const id = "start-hook"
	out := x.createWithin(id, 5*time.Second)
	if got := readOrder(t, dir); len(got) != 0 {
		t.Errorf("after create, hooks ran: %q, want none", got)
	}
	x.ok("start", id)
	if got, want := readOrder(t, dir), []string{"startContainer", "poststart"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("after start, hooks ran: %q, want %q", got, want)
	}
	x.waitStopped(id)
	x.ok("delete", id)
	got := lines(mustRead(t, out))
	if len(got) != 2 || got[0] != "startContainer" {
		t.Fatalf("the process saw %q, want startContainer to have run before it", got)
	}
	if mnt := strings.TrimSpace(mustRead(t, filepath.Join(dir, "startContainer.mnt"))); mnt != got[1] {
		t.Errorf("startContainer ran in mount namespace %s, want the container's %s", mnt, got[1])
	}
	if env := lines(mustRead(t, filepath.Join(dir, "startContainer.env"))); strings.Join(env, " ") != strings.Join(inside, " ") {
		t.Errorf("startContainer env %q, want exactly %q", env, inside)
	}
	var st specs.State
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(dir, "startContainer.state"))), &st); err != nil || st.ID != id || st.Pid <= 0 {
		t.Errorf("startContainer state on stdin: %+v, %v", st, err)
	}
}

func TestHooksArgv0(t *testing.T) {
	x := newH(t, "true")
	dir := t.TempDir()
	// busybox picks its applet by argv[0]: the hook works only if args[0] is passed as argv[0].
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
		Path: "/bin/busybox",
		Args: []string{"sh", "-c", `tr '\0' ' ' </proc/$$/cmdline >"$0"; true`, filepath.Join(dir, "argv")},
	}}}
	if r := x.runContainer("argv0"); r.code != 0 {
		t.Fatalf("run: exit %d: %s", r.code, r.stderr)
	}
	want := `sh -c tr '\0' ' ' </proc/$$/cmdline >"$0"; true ` + filepath.Join(dir, "argv")
	if got := strings.TrimSpace(mustRead(t, filepath.Join(dir, "argv"))); got != want {
		t.Errorf("hook argv = %q, want %q", got, want)
	}
}

func TestHooksTimeout(t *testing.T) {
	x := newH(t, "true")
	slow := writeScript(t, filepath.Join(t.TempDir(), "slow.sh"), "#!/bin/sh\nsleep 10\n")
	one := 1
	x.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: slow, Timeout: &one}}}
	x.writeSpec()
	t0 := time.Now()
	r := x.run("create", "--bundle", x.bundle, "timeout")
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("create with a 1 s hook timeout took %v", took.Round(time.Millisecond))
	}
	if r.code == 0 {
		t.Fatalf("create succeeded although its hook timed out")
	}
	t.Logf("refused: %s", strings.TrimSpace(r.stderr))
}

func TestHooksFailingCreate(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run(kind, func(t *testing.T) {
			x := newH(t, "true")
			dir := t.TempDir()
			fail := writeScript(t, filepath.Join(dir, "fail.sh"), "#!/bin/sh\necho hook says no\nexit 7\n")
			after := writeScript(t, filepath.Join(dir, "after.sh"), "#!/bin/sh\ntouch \"$0.ran\"\n")
			bad := []specs.Hook{{Path: fail}, {Path: after}}
			later := []specs.Hook{{Path: after}}
			h := &specs.Hooks{}
			switch kind {
			case "prestart":
				h.Prestart, h.CreateRuntime = bad, later //nolint:staticcheck // still part of the spec
			case "createRuntime":
				h.CreateRuntime, h.CreateContainer = bad, later
			case "createContainer":
				h.CreateContainer = bad
			}
			x.spec.Hooks = h
			x.writeSpec()
			r := x.run("create", "--bundle", x.bundle, "failhook")
			if r.code == 0 {
				t.Fatalf("create succeeded although a %s hook failed", kind)
			}
			if !strings.Contains(r.stderr, kind) {
				t.Errorf("the error does not name the %s hook: %s", kind, r.stderr)
			}
			if _, err := os.Stat(after + ".ran"); err == nil {
				t.Errorf("a hook after the failing %s hook still ran", kind)
			}
			// The leak check proves nothing is left: no state dir, cgroup, mount or process.
		})
	}
}

func TestHooksFailingPoststartPoststopWarn(t *testing.T) {
	x := newH(t, "sleep", "30")
	dir := t.TempDir()
	fail := writeScript(t, filepath.Join(dir, "fail.sh"), "#!/bin/sh\nexit 1\n")
	mark := writeScript(t, filepath.Join(dir, "mark.sh"), "#!/bin/sh\ntouch \"$1\"\n")
	x.spec.Hooks = &specs.Hooks{
		Poststart: []specs.Hook{{Path: fail}, {Path: mark, Args: []string{mark, filepath.Join(dir, "poststart.ran")}}},
		Poststop:  []specs.Hook{{Path: fail}, {Path: mark, Args: []string{mark, filepath.Join(dir, "poststop.ran")}}},
	}
	const id = "warn"
	x.create(id)
	r := x.run("start", id)
	if r.code != 0 {
		t.Fatalf("start failed on a failing poststart hook: exit %d: %s", r.code, r.stderr)
	}
	if strings.TrimSpace(r.stderr) == "" {
		t.Errorf("start did not warn about the failing poststart hook")
	}
	if _, err := os.Stat(filepath.Join(dir, "poststart.ran")); err != nil {
		t.Errorf("the poststart hook after the failing one did not run")
	}
	if got := x.state(id)["status"]; got != "running" {
		t.Errorf("after a failing poststart hook the container is %v, want running", got)
	}
	x.ok("kill", id, "KILL")
	x.waitStopped(id)
	r = x.run("delete", id)
	if r.code != 0 {
		t.Fatalf("delete failed on a failing poststop hook: exit %d: %s", r.code, r.stderr)
	}
	if strings.TrimSpace(r.stderr) == "" {
		t.Errorf("delete did not warn about the failing poststop hook")
	}
	if _, err := os.Stat(filepath.Join(dir, "poststop.ran")); err != nil {
		t.Errorf("the poststop hook after the failing one did not run")
	}
}
