//go:build integration

package test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRootfsTmpcopyup: a tmpfs with runc's tmpcopyup option starts with a copy of the
// directory it covers (contents, modes, owners), keeps the directory's mode unless mode= is
// given, and writes to it do not reach the image. podman --read-only and --tmpfs mount /run, /tmp and /var/tmp so.
func TestRootfsTmpcopyup(t *testing.T) {
	x := newH(t)
	if err := os.Chown(filepath.Join(x.bundle, "rootfs/home/user"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	x.spec.Root.Readonly = true
	x.spec.Mounts = append(x.spec.Mounts,
		specs.Mount{Destination: "/etc", Type: "tmpfs", Source: "tmpfs", Options: []string{"rw", "nosuid", "nodev", "tmpcopyup"}},
		specs.Mount{Destination: "/home", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup", "mode=700"}},
	)
	out := x.sh("copyup", `grep '^user:' /etc/passwd; stat -c '%a %u:%g' /etc /home /home/user
echo new > /etc/new && cat /etc/new; grep -c ' /etc tmpfs ' /proc/mounts`)
	want := []string{"user:x:1000:1000:user:/home/user:/bin/sh", "755 0:0", "700 0:0", "755 1000:1000", "new", "1"}
	if got := strings.Fields(strings.ReplaceAll(out, "\n", " ")); strings.Join(got, " ") != strings.Join(strings.Fields(strings.Join(want, " ")), " ") {
		t.Errorf("inside the container:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	if _, err := os.Stat(filepath.Join(x.bundle, "rootfs/etc/new")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a write to the tmpfs reached the image: stat: %v", err)
	}
}
