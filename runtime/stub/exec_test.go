package stub

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The real-process tests run the test binary again as a helper (see TestMain)
// that calls Exec, the way hull's Go init does, and watch what the stub does.

const helperEnv = "HULL_STUB_TEST_HELPER"

// helperRequest is what a test asks the helper process to Exec.
type helperRequest struct {
	Program Program
	// FifoPath, if set, is opened O_PATH in the helper and becomes FifoFD.
	FifoPath string
	// CurrentIdentity fills in the helper's own uid, gid, groups and caps,
	// so the transition is exercised without needing privilege.
	CurrentIdentity bool
}

func TestMain(m *testing.M) {
	if req := os.Getenv(helperEnv); req != "" {
		os.Exit(helperMain(req))
	}
	os.Exit(m.Run())
}

// helperMain returns only if Exec failed.
func helperMain(req string) int {
	var r helperRequest
	if err := json.Unmarshal([]byte(req), &r); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	if r.FifoPath != "" {
		fd, err := unix.Open(r.FifoPath, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
		r.Program.FifoFD = fd
	}
	if r.CurrentIdentity {
		if err := currentIdentity(&r.Program); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 2
		}
	}
	fmt.Fprintln(os.Stderr, "Exec:", Exec(r.Program))
	return 3
}

func currentIdentity(p *Program) error {
	p.UID, p.GID = uint32(os.Getuid()), uint32(os.Getgid())
	groups, err := os.Getgroups()
	if err != nil {
		return err
	}
	for _, g := range groups {
		p.AdditionalGids = append(p.AdditionalGids, uint32(g))
	}
	// Only a privileged caller may call setgroups(2), even to change nothing.
	p.SkipSetgroups = os.Geteuid() != 0
	st, err := status("self")
	if err != nil {
		return err
	}
	for _, c := range []struct {
		line string
		mask *uint64
	}{
		{"CapBnd", &p.Caps.Bounding}, {"CapEff", &p.Caps.Effective}, {"CapPrm", &p.Caps.Permitted},
		{"CapInh", &p.Caps.Inheritable}, {"CapAmb", &p.Caps.Ambient},
	} {
		if *c.mask, err = strconv.ParseUint(st[c.line], 16, 64); err != nil {
			return fmt.Errorf("%s: %w", c.line, err)
		}
	}
	return nil
}

// status reads /proc/<pid>/status as a map from field to value.
func status(pid string) (map[string]string, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return nil, err
	}
	return parseStatus(string(b)), nil
}

func parseStatus(s string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

type result struct {
	stdout, stderr string
	code           int
}

// startHelper starts the helper on req; the caller waits.
func startHelper(t *testing.T, req helperRequest) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	if req.Program.FifoFD == 0 && req.FifoPath == "" {
		req.Program.FifoFD = -1
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stdout, &stderr
}

func wait(t *testing.T, cmd *exec.Cmd, stdout, stderr *bytes.Buffer) result {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), cmd.ProcessState.ExitCode()}
}

func run(t *testing.T, req helperRequest) result {
	t.Helper()
	cmd, stdout, stderr := startHelper(t, req)
	return wait(t, cmd, stdout, stderr)
}

func TestExecArgvAndExitCode(t *testing.T) {
	got := run(t, helperRequest{CurrentIdentity: true, Program: Program{
		Path: "/bin/sh",
		Argv: []string{"sh", "-c", `printf '[%s]' "$0" "$@"; exit 42`, "zero", "a b", "", "x\ty", "ünï"},
	}})
	want := result{stdout: "[zero][a b][][x\ty][ünï]", code: 42}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestExecEnv(t *testing.T) {
	got := run(t, helperRequest{CurrentIdentity: true, Program: Program{
		Path: "/usr/bin/env", Argv: []string{"env"}, Env: []string{"A=1", "B=two words", "EMPTY="},
	}})
	want := result{stdout: "A=1\nB=two words\nEMPTY=\n"}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestExecIdentity passes the caller's own identity through the whole
// transition (setresuid, capset, ambient...) and expects it unchanged in
// the exec'd program, which works with or without privilege.
func TestExecIdentity(t *testing.T) {
	got := run(t, helperRequest{CurrentIdentity: true, Program: Program{
		Path: "/bin/cat", Argv: []string{"cat", "/proc/self/status"},
	}})
	if got.code != 0 || got.stderr != "" {
		t.Fatalf("cat: %+v", got)
	}
	theirs := parseStatus(got.stdout)
	ours, err := status("self")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"Uid", "Gid", "Groups", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"} {
		if theirs[k] != ours[k] {
			t.Errorf("%s: exec'd program has %q, test has %q", k, theirs[k], ours[k])
		}
	}
}

// TestExecFifo checks that the stub holds the container in "created" until
// the exec fifo is opened for reading, as "hull start" does, and measures it.
func TestExecFifo(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "exec.fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, stdout, stderr := startHelper(t, helperRequest{CurrentIdentity: true, FifoPath: fifo, Program: Program{
		// The stub must have closed both the fifo and the program fd.
		Path: "/bin/ls", Argv: []string{"ls", "-l", "/proc/self/fd/"},
	}})
	pid := strconv.Itoa(cmd.Process.Pid)

	deadline := time.Now().Add(10 * time.Second)
	for {
		exe, _ := os.Readlink("/proc/" + pid + "/exe")
		if strings.HasPrefix(exe, "/memfd:hull-stub") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("helper did not become the stub; exe %q", exe)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	st, err := status(pid)
	if err != nil {
		t.Fatal(err)
	}
	if exe, _ := os.Readlink("/proc/" + pid + "/exe"); !strings.HasPrefix(exe, "/memfd:hull-stub") || !strings.HasPrefix(st["State"], "S") {
		t.Fatalf("stub did not wait on the fifo: exe %q, state %q", exe, st["State"])
	}

	// argv and env stay out of the stub's /proc files; they are in the memfd.
	if b, _ := os.ReadFile("/proc/" + pid + "/cmdline"); !strings.HasPrefix(string(b), "hull-stub\x00") || strings.Count(string(b), "\x00") != 2 {
		t.Errorf("cmdline %q, want hull-stub and the program fd", b)
	}
	if b, _ := os.ReadFile("/proc/" + pid + "/environ"); len(b) != 0 {
		t.Errorf("environ %q, want empty", b)
	}
	// While waiting it holds the fifo but no longer the program memfd. (Other
	// fds the test itself inherited without O_CLOEXEC pass through too.)
	fds := fdTargets(t, pid)
	if !slices.Contains(fds, fifo) || slices.ContainsFunc(fds, isProgramFD) {
		t.Errorf("waiting stub has fds to %q, want the fifo and no hull-program", fds)
	}

	rss, pss := smapsRollup(t, pid)
	wchan, _ := os.ReadFile("/proc/" + pid + "/wchan")
	t.Logf("waiting stub: VmRSS %s, Rss %d kB, Pss %d kB, wchan %s, stub.bin %d bytes", st["VmRSS"], rss, pss, wchan, len(stubBin))
	if pss > 300 {
		t.Errorf("waiting stub costs %d kB PSS, want <= 300", pss)
	}

	r, err := os.OpenFile(fifo, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b := make([]byte, 2)
	n, err := r.Read(b)
	if err != nil || string(b[:n]) != "0" {
		t.Errorf("read fifo = %q, %v; want \"0\"", b[:n], err)
	}
	got := wait(t, cmd, stdout, stderr)
	if got.code != 0 || got.stderr != "" || !strings.Contains(got.stdout, " 0 -> ") ||
		strings.Contains(got.stdout, fifo) || strings.Contains(got.stdout, "hull-program") {
		t.Errorf("got %+v, want an fd listing without the fifo or hull-program", got)
	}
}

func fdTargets(t *testing.T, pid string) []string {
	ents, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/" + pid + "/fd/" + e.Name())
		targets = append(targets, target)
	}
	return targets
}

func isProgramFD(target string) bool { return strings.Contains(target, "hull-program") }

func smapsRollup(t *testing.T, pid string) (rss, pss int) {
	b, err := os.ReadFile("/proc/" + pid + "/smaps_rollup")
	if err != nil {
		t.Fatal(err)
	}
	m := parseStatus(string(b))
	rss, _ = strconv.Atoi(strings.TrimSuffix(m["Rss"], " kB"))
	pss, _ = strconv.Atoi(strings.TrimSuffix(m["Pss"], " kB"))
	return rss, pss
}

// denyMkdir returns a filter failing mkdir(2) and mkdirat(2) with EPERM.
func denyMkdir() []unix.SockFilter {
	const (
		ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret   = unix.BPF_RET | unix.BPF_K
	)
	return []unix.SockFilter{
		{Code: ldAbs, K: 4}, // seccomp_data.arch
		{Code: jeq, K: unix.AUDIT_ARCH_X86_64, Jf: 3},
		{Code: ldAbs, K: 0}, // seccomp_data.nr
		{Code: jeq, K: unix.SYS_MKDIR, Jt: 2},
		{Code: jeq, K: unix.SYS_MKDIRAT, Jt: 1},
		{Code: ret, K: unix.SECCOMP_RET_ALLOW},
		{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)},
	}
}

func TestExecSeccomp(t *testing.T) {
	for _, flags := range []uint{0, unix.SECCOMP_FILTER_FLAG_LOG} {
		t.Run(fmt.Sprintf("flags=%#x", flags), func(t *testing.T) {
			// Without the filter this mkdir fails with ENOENT, so EPERM
			// can only come from the filter.
			got := run(t, helperRequest{CurrentIdentity: true, Program: Program{
				Path:            "/bin/sh",
				Argv:            []string{"sh", "-c", `mkdir /nonexistent-hull-test/x 2>&1; echo rc=$?; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status`},
				Env:             []string{"LC_ALL=C"},
				NoNewPrivileges: true, Seccomp: denyMkdir(), SeccompFlags: flags,
			}})
			for _, want := range []string{"Operation not permitted", "rc=1", "NoNewPrivs:\t1", "Seccomp:\t2"} {
				if !strings.Contains(got.stdout, want) {
					t.Errorf("stdout %q lacks %q (stderr %q)", got.stdout, want, got.stderr)
				}
			}
		})
	}
}

func TestExecFailures(t *testing.T) {
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec")
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(garbage, []byte{0, 1, 2, 3, 4, 5, 6, 7}, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    Program
		want result
	}{
		{"missing", Program{Path: "/nonexistent/hull"},
			result{stderr: "hull: exec /nonexistent/hull: no such file or directory\n", code: 127}},
		{"not executable", Program{Path: noexec},
			result{stderr: "hull: exec " + noexec + ": permission denied\n", code: 126}},
		{"directory", Program{Path: dir},
			result{stderr: "hull: exec " + dir + ": permission denied\n", code: 126}},
		{"not a program", Program{Path: garbage},
			result{stderr: "hull: exec " + garbage + ": exec format error\n", code: 126}},
		{"fifo fd not open", Program{Path: "/bin/true", FifoFD: 1000},
			result{stderr: "Exec: stub: fifo fd 1000: bad file descriptor\n", code: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Argv = []string{"x"}
			if got := run(t, helperRequest{CurrentIdentity: true, Program: tc.p}); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestStubRejectsBadPrograms runs stub.bin directly on corrupt programs, which
// Encode never writes, to check the C side's own bounds checks.
func TestStubRejectsBadPrograms(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "stub")
	if err := os.WriteFile(bin, stubBin, 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := Encode(minimal())
	if err != nil {
		t.Fatal(err)
	}
	strs := headerSize // minimal has no gids: "/bin/true\0true\0" starts here
	for _, tc := range []struct {
		name   string
		args   []string
		change func([]byte) []byte
		want   string
	}{
		{"no fd", []string{}, nil, "hull: usage: hull-stub <program-fd> [<ns-fd>...]\n"},
		{"ns fd not a number", []string{"3", "x"}, nil, "hull: usage: namespace fd is not a number\n"},
		{"ns fd not a namespace", []string{"3", "0"}, nil, "hull: namespace fd 0: inappropriate ioctl for device\n"},
		{"too many ns fds", []string{"3", "0", "0", "0", "0", "0", "0", "0", "0", "0"}, nil, "hull: usage: too many namespace fds\n"},
		{"fd not a number", []string{"3x"}, nil, "hull: usage: program fd is not a number\n"},
		{"fd not open", []string{"999"}, nil, "hull: program size: bad file descriptor\n"},
		{"empty", []string{"3"}, func(b []byte) []byte { return nil }, "hull: program: truncated header\n"},
		{"bad magic", []string{"3"}, func(b []byte) []byte { b[0] = 'X'; return b }, "hull: program: bad magic\n"},
		{"bad version", []string{"3"}, func(b []byte) []byte { b[4] = 1; return b }, "hull: program: unknown version\n"},
		{"reserved bytes", []string{"3"}, func(b []byte) []byte { b[92] = 1; return b }, "hull: program: reserved header bytes set\n"},
		{"too many LSM attributes", []string{"3"}, func(b []byte) []byte { b[88] = 3; return b }, "hull: program: too many LSM attributes\n"},
		{"LSM attribute beyond strings", []string{"3"}, func(b []byte) []byte { b[88] = 2; return b }, "hull: program: unterminated string\n"},
		{"cap_last_cap 64", []string{"3"}, func(b []byte) []byte { b[20] = 64; return b }, "hull: program: cap_last_cap out of range\n"},
		{"long filter", []string{"3"}, func(b []byte) []byte { b[45] = 0x10; b[44] = 1; return b }, "hull: program: seccomp filter too long\n"},
		{"short", []string{"3"}, func(b []byte) []byte { return b[:len(b)-1] }, "hull: program: size does not match counts\n"},
		{"long", []string{"3"}, func(b []byte) []byte { return append(b, 0) }, "hull: program: size does not match counts\n"},
		{"huge gid count", []string{"3"}, func(b []byte) []byte { b[27] = 0xff; return b }, "hull: program: size does not match counts\n"},
		{"argc beyond strings", []string{"3"}, func(b []byte) []byte { b[31] = 0xff; return b }, "hull: program: too few string bytes\n"},
		{"unterminated", []string{"3"}, func(b []byte) []byte { b[strs+len("/bin/true\x00true")] = 'x'; return b }, "hull: program: unterminated string\n"},
		{"extra string", []string{"3"}, func(b []byte) []byte { b[strs+len("/bin/tr")] = 0; return b }, "hull: program: trailing string bytes\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Args = append([]string{"hull-stub"}, tc.args...)
			if tc.change != nil {
				f, err := os.Create(filepath.Join(t.TempDir(), "program"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.Write(tc.change(bytes.Clone(good))); err != nil {
					t.Fatal(err)
				}
				cmd.ExtraFiles = []*os.File{f} // fd 3
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != 127 || stderr.String() != tc.want {
				t.Errorf("exit %d (%v), stderr %q; want 127, %q", code, err, stderr.String(), tc.want)
			}
		})
	}
}
