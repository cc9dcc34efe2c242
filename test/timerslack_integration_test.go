//go:build integration

package test

import (
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestTimerSlack: hull widens only its Go sysmon thread's timer slack (runtime/sysmon); the
// container's process and the hooks inherit the slack of whoever ran hull, on both ways of making
// a container. hull is started from a thread with an unusual slack, so "inherited" cannot be
// mistaken for the kernel's default.
func TestTimerSlack(t *testing.T) {
	const callerSlack, sysmonSlack = 70_000, 3_000_000
	for _, way := range []string{"direct", "init"} {
		t.Run(way, func(t *testing.T) {
			x := newH(t, "cat", "/proc/self/timerslack_ns")
			dir := x.hostDir("/shared")
			// The poststart hook is hull's child: it reads its own slack and that of each of
			// hull's threads ($PPID is hull).
			hook := writeScript(t, filepath.Join(t.TempDir(), "slack.sh"), `#!/bin/sh
cat /proc/self/timerslack_ns > "$1/hook"
for t in /proc/$PPID/task/*; do echo "${t##*/} $(cat /proc/${t##*/}/timerslack_ns)"; done > "$1/hull"
`)
			x.spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: hook, Args: []string{hook, dir}}}}
			if way == "init" { // a createContainer hook keeps the container on hull-init's way
				x.spec.Hooks.CreateContainer = []specs.Hook{{Path: "/bin/true"}}
			}
			x.writeSpec()

			goruntime.LockOSThread()
			old, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Prctl(unix.PR_SET_TIMERSLACK, callerSlack, 0, 0, 0); err != nil {
				t.Fatal(err)
			}
			r := x.runCmd(x.cmd("run", "--bundle", x.bundle, "slack"), nil, nil)
			_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(old), 0, 0, 0)
			goruntime.UnlockOSThread()
			if r.code != 0 {
				t.Fatalf("run: exit %d: %s", r.code, r.stderr)
			}

			if got := strings.TrimSpace(r.stdout); got != strconv.Itoa(callerSlack) {
				t.Errorf("container process's timer slack = %s, want the caller's %d", got, callerSlack)
			}
			if got := readTrim(t, filepath.Join(dir, "hook")); got != strconv.Itoa(callerSlack) {
				t.Errorf("hook's timer slack = %s, want the caller's %d", got, callerSlack)
			}
			// hull's main thread keeps the caller's slack; one thread, sysmon, has 3 ms. (A
			// thread sysmon started would have it too: at least one, not exactly one.)
			var main string
			widened := 0
			for _, l := range lines(readTrim(t, filepath.Join(dir, "hull"))) {
				tid, slack, _ := strings.Cut(l, " ")
				if slack == strconv.Itoa(sysmonSlack) {
					widened++
				}
				if tid == strconv.Itoa(r.hullPid) {
					main = slack
				}
			}
			if main != strconv.Itoa(callerSlack) || widened == 0 {
				t.Errorf("hull's threads (tid slack):\n%s\nwant the main thread at %d and sysmon at %d",
					readTrim(t, filepath.Join(dir, "hull")), callerSlack, sysmonSlack)
			}
		})
	}
}

// readTrim is mustRead without the trailing newline.
func readTrim(t *testing.T, path string) string {
	t.Helper()
	return strings.TrimSpace(mustRead(t, path))
}
