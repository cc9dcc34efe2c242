package caps

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  uint64
		err   string
	}{
		{nil, 0, ""},
		{[]string{"CAP_CHOWN"}, 1, ""},
		{[]string{"CAP_NET_ADMIN"}, 1 << unix.CAP_NET_ADMIN, ""},
		{[]string{"CAP_SYS_ADMIN", "CAP_SYS_ADMIN"}, 1 << 21, ""},
		{[]string{"CAP_CHECKPOINT_RESTORE", "CAP_BPF", "CAP_PERFMON"}, 7 << 38, ""},
		{[]string{"CAP_CHOWN", "CAP_FOO"}, 0, `unknown capability "CAP_FOO"`},
		{[]string{"cap_chown"}, 0, `unknown capability "cap_chown"`},
		{[]string{"CHOWN"}, 0, `unknown capability "CHOWN"`},
		{[]string{"CAP_41"}, 0, `unknown capability "CAP_41"`},
		{[]string{""}, 0, `unknown capability ""`},
	} {
		got, err := Parse(tc.names)
		switch {
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("Parse(%q): error %v, want %q", tc.names, err, tc.err)
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("Parse(%q) = %#x, %v; want %#x", tc.names, got, err, tc.want)
		}
	}
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		mask uint64
		want []string
	}{
		{0, nil},
		{1, []string{"CAP_CHOWN"}},
		{1<<unix.CAP_KILL | 1<<unix.CAP_SYS_ADMIN, []string{"CAP_KILL", "CAP_SYS_ADMIN"}},
		{1 << 40, []string{"CAP_CHECKPOINT_RESTORE"}},
		{1<<41 | 1<<63, []string{"CAP_41", "CAP_63"}},
	} {
		if got := Names(tc.mask); !slices.Equal(got, tc.want) {
			t.Errorf("Names(%#x) = %q, want %q", tc.mask, got, tc.want)
		}
	}
}

// TestTableComplete checks the table against the kernel's numbering as x/sys has it,
// every name round-trips, and nothing is missing up to CAP_CHECKPOINT_RESTORE.
func TestTableComplete(t *testing.T) {
	if len(names) != unix.CAP_LAST_CAP+1 || unix.CAP_LAST_CAP != unix.CAP_CHECKPOINT_RESTORE {
		t.Fatalf("table has %d names, want %d", len(names), unix.CAP_LAST_CAP+1)
	}
	all := uint64(1)<<(unix.CAP_LAST_CAP+1) - 1
	got := Names(all)
	if len(got) != len(names) {
		t.Fatalf("Names(all) has %d names", len(got))
	}
	for bit, name := range got {
		if name == "" {
			t.Errorf("bit %d has no name", bit)
		}
		m, err := Parse([]string{name})
		if err != nil || m != 1<<bit {
			t.Errorf("Parse(%s) = %#x, %v; want bit %d", name, m, err, bit)
		}
	}
	back, err := Parse(got)
	if err != nil || back != all {
		t.Errorf("Parse(Names(all)) = %#x, %v", back, err)
	}
}

func TestDockerDefault(t *testing.T) {
	d := DockerDefault()
	mask, err := Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 14 || len(Names(mask)) != 14 {
		t.Fatalf("got %d capabilities, want 14 distinct", len(d))
	}
	for _, c := range []int{unix.CAP_SYS_ADMIN, unix.CAP_NET_ADMIN, unix.CAP_SYS_PTRACE, unix.CAP_SYS_MODULE} {
		if mask&(1<<c) != 0 {
			t.Errorf("default includes %s", names[c])
		}
	}
	d[0] = "changed"
	if DockerDefault()[0] != "CAP_CHOWN" {
		t.Error("DockerDefault shares its slice")
	}
}

func TestLastCap(t *testing.T) {
	n, err := LastCap()
	if err != nil {
		t.Fatal(err)
	}
	if n < unix.CAP_AUDIT_READ { // present since Linux 3.16
		t.Errorf("cap_last_cap %d is implausibly low", n)
	}

	dir := t.TempDir()
	for _, tc := range []struct {
		content string
		want    int
		ok      bool
	}{
		{"40\n", 40, true},
		{"0", 0, true},
		{"", 0, false},
		{"forty\n", 0, false},
		{"64\n", 0, false},
		{"-1\n", 0, false},
	} {
		p := filepath.Join(dir, "cap_last_cap")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := readLastCap(p)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("readLastCap(%q) = %d, %v", tc.content, got, err)
		}
	}
	if _, err := readLastCap(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}
