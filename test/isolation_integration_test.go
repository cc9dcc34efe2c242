//go:build integration

package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// sh runs script as the container's process and returns its stdout; it fails the test unless the
// container exits 0.
func (x *h) sh(id, script string) string {
	x.t.Helper()
	x.spec.Process.Args = []string{"sh", "-c", script}
	r := x.runContainer(id)
	if r.code != 0 {
		x.t.Fatalf("container %s: exit %d\nstdout: %s\nstderr: %s", id, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// create runs `hull create` with the container's stdio (and hull's) on a file rather than a pipe,
// so that create returns while the container still holds them. It returns the file's path.
func (x *h) create(id string, flags ...string) string {
	x.t.Helper()
	return x.createWithin(id, 30*time.Second, flags...)
}

// createWithin is create that gives up (killing hull) after d.
func (x *h) createWithin(id string, d time.Duration, flags ...string) string {
	x.t.Helper()
	x.writeSpec()
	out := filepath.Join(x.t.TempDir(), "stdio")
	f, err := os.Create(out)
	if err != nil {
		x.t.Fatal(err)
	}
	defer f.Close()
	args := append([]string{"--root", x.root, "create", "--bundle", x.bundle}, flags...)
	cmd := exec.Command(hullBin, append(args, id)...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = f, f, x.bundle
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		x.t.Fatalf("hull create %s: %v\n%s", id, err, b)
	}
	return out
}

// initPid returns the host pid of the container's init from `hull state`.
func (x *h) initPid(id string) int {
	x.t.Helper()
	pid, ok := x.state(id)["pid"].(float64)
	if !ok || pid <= 0 {
		x.t.Fatalf("state %s has no pid: %v", id, x.state(id))
	}
	return int(pid)
}

// lines splits s into its non-empty trimmed lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// section returns the lines between "== name" and the next "== " marker in a script's output.
func section(out, name string) []string {
	var got []string
	in := false
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "== ") {
			in = l == "== "+name
			continue
		}
		if in {
			got = append(got, l)
		}
	}
	return got
}

// mountEntry is one line of /proc/<pid>/mountinfo (proc(5)).
type mountEntry struct {
	dev, root, point, opts, optional, fstype, source, super string
}

// parseMountinfo maps mount points to their entry; a later (upper) mount wins.
func parseMountinfo(s string) map[string]mountEntry {
	m := map[string]mountEntry{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, v := range f {
			if v == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(f) < sep+4 {
			continue
		}
		m[f[4]] = mountEntry{dev: f[2], root: f[3], point: f[4], opts: f[5], optional: strings.Join(f[6:sep], " "),
			fstype: f[sep+1], source: f[sep+2], super: f[sep+3]}
	}
	return m
}

func hasOpt(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
