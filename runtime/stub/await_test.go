package stub

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// awaitStub starts the stub in await mode with args after "await", extra as fds 4, 5, ...,
// in a session of its own, as hull starts it (a terminal needs a session leader).
func awaitStub(t *testing.T, stdout io.Writer, extra []*os.File, args ...string) (*exec.Cmd, *net.UnixConn) {
	t.Helper()
	cmd, c := startStub(t, "await", extra, func(cmd *exec.Cmd) {
		cmd.Stdout = stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}, args...)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, c
}

// The await mode end to end, without root: it writes "0" to its "tasks" fd (a plain file here),
// says "p", takes its program, cwd and umask, lets go with EOF, and runs the program with
// no fd but stdio: fd 5, inherited without O_CLOEXEC, must not reach it.
func TestAwaitHandsOver(t *testing.T) {
	tasks, err := os.Create(filepath.Join(t.TempDir(), "tasks"))
	if err != nil {
		t.Fatal(err)
	}
	defer tasks.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	var out strings.Builder
	cmd, conn := awaitStub(t, &out, []*os.File{tasks, w}, "3", "0", "4")
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil || b[0] != 'p' {
		t.Fatalf("first byte %q, %v; want p", b[:], err)
	}
	if got, _ := os.ReadFile(tasks.Name()); string(got) != "0" {
		t.Errorf("tasks file holds %q, want 0", got)
	}
	dir := t.TempDir()
	cwd, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer cwd.Close()
	p := Program{Path: "/bin/sh", Argv: []string{"sh", "-c", "pwd; umask; ls /proc/self/fd"}, FifoFD: -1}
	if err := currentIdentity(&p); err != nil {
		t.Fatal(err)
	}
	raw, err := conn.File() // a blocking dup, as hull's setup thread holds its end
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := SendProgram(int(raw.Fd()), p, cwd, nil, 0o027); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if rest, err := io.ReadAll(conn); err != nil || len(rest) > 0 {
		t.Fatalf("after the program: %q, %v; want EOF", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stub: %v", err)
	}
	want := dir + "\n0027\n0\n1\n2\n3\n" // 3: ls's own /proc/self/fd
	if out.String() != want {
		t.Errorf("program printed %q, want %q", out.String(), want)
	}
}

// Before it lets go, a failure reaches hull on the sync socket as the stub's error line.
func TestAwaitReportsFailure(t *testing.T) {
	cmd, conn := awaitStub(t, io.Discard, nil, "3", "0", "9")
	msg, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(msg), "hull: join cgroup: write 0 to tasks: bad file descriptor") {
		t.Errorf("stub said %q", msg)
	}
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 127 {
		t.Errorf("stub ended with %v, want exit 127", err)
	}
}

// hull giving up (its end closed) ends a waiting stub quietly.
func TestAwaitEndsWithoutHull(t *testing.T) {
	cmd, conn := awaitStub(t, io.Discard, nil, "3", "0")
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil || b[0] != 'p' {
		t.Fatalf("first byte %q, %v; want p", b[:], err)
	}
	conn.Close()
	if err := cmd.Wait(); cmd.ProcessState.ExitCode() != 1 {
		t.Errorf("stub ended with %v, want exit 1", err)
	}
}

func TestAwaitArgv(t *testing.T) {
	got := strings.Join(AwaitArgv(3, true, []int{6, 7}), " ")
	if want := "hull-stub await 3 1 6 7"; got != want {
		t.Errorf("AwaitArgv = %q, want %q", got, want)
	}
}

// With a pty slave in the message, the program runs on it: stdio and controlling terminal.
func TestAwaitTerminal(t *testing.T) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skip("no /dev/ptmx:", err)
	}
	master := os.NewFile(uintptr(m), "ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	name := "/dev/pts/" + strconv.Itoa(int(n))
	slave, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd, conn := awaitStub(t, io.Discard, nil, "3", "0")
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil || b[0] != 'p' {
		t.Fatalf("first byte %q, %v; want p", b[:], err)
	}
	cwd, err := os.Open("/")
	if err != nil {
		t.Fatal(err)
	}
	defer cwd.Close()
	// The controlling terminal is the one /dev/tty opens; stdout is the pty.
	p := Program{Path: "/bin/sh", Argv: []string{"sh", "-c", "tty; echo ctty >/dev/tty"}, FifoFD: -1}
	if err := currentIdentity(&p); err != nil {
		t.Fatal(err)
	}
	raw, err := conn.File()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := SendProgram(int(raw.Fd()), p, cwd, slave, NoUmask); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	raw.Close()
	if rest, err := io.ReadAll(conn); err != nil || len(rest) > 0 {
		t.Fatalf("after the program: %q, %v; want EOF", rest, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("stub: %v", err)
	}
	out, _ := io.ReadAll(master) // EIO once the slave is closed and drained
	if got := strings.ReplaceAll(string(out), "\r", ""); got != name+"\nctty\n" {
		t.Errorf("on the pty: %q, want %q", got, name+"\nctty\n")
	}
}
