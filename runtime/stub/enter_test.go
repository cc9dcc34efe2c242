package stub

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// startStub starts the stub binary as "hull-stub <mode> args...", with fd 3 the child end of a
// socketpair and extra as fds 4, 5, ..., and returns our end. prepare adjusts the command first.
func startStub(t *testing.T, mode string, extra []*os.File, prepare func(*exec.Cmd), args ...string) (*exec.Cmd, *net.UnixConn) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stub")
	if err := os.WriteFile(bin, stubBin, 0o755); err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	cmd := exec.Command(bin)
	cmd.Args = append([]string{"hull-stub", mode}, args...)
	cmd.ExtraFiles = append([]*os.File{theirs}, extra...)
	cmd.Stderr = os.Stderr
	if prepare != nil {
		prepare(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, c.(*net.UnixConn)
}

// enterStub starts the stub in enter mode with args after "enter", fd 5 exe.
func enterStub(t *testing.T, exe *os.File, args ...string) (*exec.Cmd, *net.UnixConn) {
	t.Helper()
	return startStub(t, "enter", []*os.File{nil, exe}, nil, args...) // 4 (closed), 5
}

// TestEnterClonesAsOurChild: in enter mode with no namespace to join and no new ones (which
// needs no privilege), the stub clones a child of ours running the program at the exe fd,
// sends us its pidfd, and exits; we reap the child ourselves.
func TestEnterClonesAsOurChild(t *testing.T) {
	exe, err := os.Open("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	cmd, c := enterStub(t, exe, "0", "5")
	pidfd, err := ReceiveEntered(c)
	if werr := cmd.Wait(); werr != nil {
		t.Errorf("stub: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	var info unix.Siginfo
	// P_PIDFD waits only for a child of ours: this fails with ECHILD if the stub were its parent.
	if err := unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil); err != nil {
		t.Fatalf("waitid on the init's pidfd: %v", err)
	}
	if info.Code != 1 /* CLD_EXITED */ {
		t.Errorf("child ended with si_code %d, want CLD_EXITED", info.Code)
	}
}

// The stub's failures in enter mode come back over the socket, as ReceiveEntered's error.
func TestEnterReportsFailures(t *testing.T) {
	exe, err := os.Open("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"too few args", []string{"0"}, "usage: hull-stub enter <clone-flags> <exe-fd> [<ns-fd>...]"},
		{"bad flags", []string{"x", "5"}, "usage: clone flags are not a number"},
		{"new user namespace", []string{"268435456", "5"}, "usage: clone flags other than new mount, uts, ipc, network, pid, cgroup namespaces"},
		{"not a namespace", []string{"0", "5", "5"}, "namespace fd 5: inappropriate ioctl for device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, c := enterStub(t, exe, tc.args...)
			_, err := ReceiveEntered(c)
			_ = cmd.Wait()
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if code := cmd.ProcessState.ExitCode(); code != 127 {
				t.Errorf("stub exit %d, want 127", code)
			}
		})
	}
}

func TestEnterArgv(t *testing.T) {
	got := strings.Join(EnterArgv(unix.CLONE_NEWNS|unix.CLONE_NEWPID, 6, []int{7, 8}), " ")
	if want := "hull-stub enter 537001984 6 7 8"; got != want {
		t.Fatalf("EnterArgv = %q, want %q", got, want)
	}
	if got := strings.Join(Argv(4, 6), " "); got != "hull-stub 4 6" {
		t.Fatalf("Argv = %q", got)
	}
}
