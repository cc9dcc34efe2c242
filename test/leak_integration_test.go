//go:build integration

package test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/hullrt/hull/runtime/initbin"
	"github.com/hullrt/hull/test/internal/hosttest"
)

// leakCheck fails the test if anything of its containers is left on the host: a state dir, a
// mount under the bundle, a cgroup directory, or a process in its cgroup. Then it clears what
// it found, so one failing test does not make the next ones fail too.
func (x *h) leakCheck() {
	x.t.Helper()
	var leaks []string
	if ents, err := os.ReadDir(x.root); err == nil {
		for _, e := range ents {
			if e.Name() == filepath.Base(initbin.CacheDir("")) {
				continue // the embedded init's copy, kept for the next container (runtime/initbin)
			}
			leaks = append(leaks, "state dir "+e.Name())
			_ = exec.Command(hullBin, "--root", x.root, "delete", "--force", e.Name()).Run()
		}
	}
	for _, m := range mountsUnder(x.bundle) {
		leaks = append(leaks, "mount "+m)
	}
	cg := x.spec.Linux.CgroupsPath
	for _, pid := range hosttest.PidsInCgroup(cg) {
		leaks = append(leaks, "process "+pid)
	}
	for _, d := range cgroupDirs(cg) {
		leaks = append(leaks, "cgroup "+d)
		_ = os.Remove(d)
	}
	if len(leaks) > 0 {
		x.t.Errorf("left behind: %s", strings.Join(leaks, "; "))
	}
}

// mountsUnder lists mount points at or below dir in our mount namespace.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"cannot read mountinfo: " + err.Error()}
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir) {
			out = append(out, fields[4])
		}
	}
	return out
}

// hierarchies lists where cgroup trees are mounted: /sys/fs/cgroup alone on pure v2; on v1 (and
// hybrid) the directories under it, and itself. A process_api tree (this host's sandbox) is
// left out.
func hierarchies() []string {
	if cgroupV2 {
		return []string{"/sys/fs/cgroup"}
	}
	var out []string
	hier, _ := filepath.Glob("/sys/fs/cgroup/*")
	for _, h := range append(hier, "/sys/fs/cgroup") {
		if fi, err := os.Stat(h); err == nil && fi.IsDir() && !strings.Contains(h, "process_api") {
			out = append(out, h)
		}
	}
	return out
}

// cgroupDirs lists the directories of cgroup path p that exist in any hierarchy.
func cgroupDirs(p string) []string {
	var out []string
	for _, h := range hierarchies() {
		d := filepath.Join(h, p)
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && !strings.Contains(d, "process_api") {
			out = append(out, d)
		}
	}
	return out
}

// removeCgroupParent removes the suite's cgroup parent from every hierarchy.
func removeCgroupParent() {
	for _, d := range cgroupDirs(cgroupParent) {
		_ = os.Remove(d)
	}
}
