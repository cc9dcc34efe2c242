package rootfs

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestDescribe checks the dry-run outline against what Mount, Pivot and Finish do: the same
// ops, in the same order and phases, in the Recorder's words.
func TestDescribe(t *testing.T) {
	s := specWith("1.2.0",
		specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"},
		specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data", Options: []string{"rbind", "ro"}},
	)
	s.Root = &specs.Root{Path: "rootfs", Readonly: true}
	s.Linux = &specs.Linux{MaskedPaths: []string{"/proc/kcore"}, ReadonlyPaths: []string{"/proc/sys"}}
	p, err := NewPlan(s, "/b/rootfs", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range p.Describe() {
		got = append(got, st.Phase+": "+st.Op+" "+st.Args)
	}
	want := []string{
		"mount: mount --make-rslave /",
		"mount: mount --rbind /b/rootfs /b/rootfs",
		"mount: mount -t proc proc /b/rootfs/proc",
		"mount: mount --rbind /srv/data /b/rootfs/data",
		"mount: mount /b/rootfs/data -o remount,bind,ro",
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Errorf("mount phase starts\n%s\nwant\n%s", strings.Join(got[:len(want)], "\n"), strings.Join(want, "\n"))
	}
	tail := []string{
		"pivot: chdir /b/rootfs",
		"pivot: pivot_root . . (in /b/rootfs)",
		"pivot: chdir (old root)",
		"pivot: mount --make-rslave .",
		"pivot: umount2 -l .",
		"pivot: chdir /",
		"finish: mount --rbind /proc/sys /proc/sys",
		"finish: mount /proc/sys -o remount,bind,ro",
		"finish: mount --bind /dev/null /proc/kcore",
		"finish: mount / -o remount,bind,ro",
	}
	if !slices.Equal(got[len(got)-len(tail):], tail) {
		t.Errorf("plan ends\n%s\nwant\n%s", strings.Join(got[len(got)-len(tail):], "\n"), strings.Join(tail, "\n"))
	}
	// The default devices sit between: mknod for each, then the /dev links.
	if !slices.ContainsFunc(got, func(s string) bool { return s == "mount: mknod -m 666 /b/rootfs/dev/null c 1 3" }) ||
		!slices.ContainsFunc(got, func(s string) bool { return s == "mount: symlink /proc/self/fd /b/rootfs/dev/fd" }) {
		t.Errorf("default devices missing:\n%s", strings.Join(got, "\n"))
	}
	p.NoPivot = true
	if !slices.ContainsFunc(p.Describe(), func(s PlannedStep) bool { return s.Op == "chroot" }) {
		t.Error("NoPivot plan without chroot")
	}
}
