//go:build integration

package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hullrt/hull/test/internal/hosttest"
)

// labDir finds the lab directory a lesson printed (every lesson works in /tmp/hull-lesson-*).
var labDir = regexp.MustCompile(`/tmp/hull-lesson-[A-Za-z0-9]+`)

// TestLessons runs every lesson in docs/lessons with the binary under test. A lesson checks its
// own claims ("ok: ..." or "FAILED: ..."); this test wants it to pass and to leave nothing: no
// lab directory, network namespace, cgroup or container.
func TestLessons(t *testing.T) {
	lessons, err := filepath.Glob("../docs/lessons/[0-9][0-9]-*.sh")
	if err != nil || len(lessons) < 4 {
		t.Fatalf("lessons: %v %v", lessons, err)
	}
	for _, l := range lessons {
		nn := filepath.Base(l)[:2]
		t.Run(strings.TrimSuffix(filepath.Base(l), ".sh"), func(t *testing.T) {
			cmd := exec.Command("sh", "../docs/lessons/run.sh", nn)
			cmd.Env = append(os.Environ(), "HULL="+hullBin)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "lesson "+nn+": PASS") {
				t.Fatalf("lesson %s: %v\n%s", nn, err, out)
			}
			if strings.Contains(string(out), "FAILED") {
				t.Errorf("lesson %s passed with a failed claim:\n%s", nn, out)
			}
			lab := labDir.FindString(string(out))
			if lab == "" {
				t.Fatalf("lesson %s printed no lab directory:\n%s", nn, out)
			}
			name := filepath.Base(lab)
			if _, err := os.Stat(lab); !os.IsNotExist(err) {
				t.Errorf("lab directory %s left behind", lab)
				_ = os.RemoveAll(lab)
			}
			if _, err := os.Stat("/run/netns/" + name); !os.IsNotExist(err) {
				t.Errorf("network namespace %s left behind", name)
				_ = exec.Command("ip", "netns", "del", name).Run()
			}
			if d := cgroupDirs("/" + name); len(d) > 0 {
				t.Errorf("cgroups left behind: %v", d)
			}
			if p := hosttest.PidsInCgroup("/" + name); len(p) > 0 {
				t.Errorf("processes left behind: %v", p)
			}
		})
	}
}
