package seccomp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// These tests load real filters. A filter cannot be removed once loaded, so the test
// binary re-executes itself as a child that sets no_new_privs (which lets an
// unprivileged process load a filter), loads one and reports through its exit code.

const childEnv = "HULL_SECCOMP_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode); err != nil {
			fmt.Fprintf(os.Stderr, "child %s: %v\n", mode, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// install loads s on every thread of the child: no_new_privs first, then TSYNC.
func install(s *specs.LinuxSeccomp) error {
	f, err := Compile(s)
	if err != nil {
		return err
	}
	f.Flags |= unix.SECCOMP_FILTER_FLAG_TSYNC
	goruntime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl no_new_privs: %w", err)
	}
	return f.Load()
}

func child(mode string) error {
	switch mode {
	case "mkdir":
		dir := os.Getenv("HULL_SECCOMP_TEST_DIR")
		err := install(&specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: uptr(uint(unix.EPERM))},
			},
		})
		if err != nil {
			return err
		}
		if err := os.Mkdir(filepath.Join(dir, "denied"), 0o755); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("mkdir: got %v, want EPERM", err)
		}
		if err := unix.Mkdirat(unix.AT_FDCWD, filepath.Join(dir, "denied2"), 0o755); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("mkdirat: got %v, want EPERM", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "allowed"), []byte("ok"), 0o644); err != nil {
			return fmt.Errorf("write file: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "denied")); !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("stat denied dir: got %v, want not exist", err)
		}
		return nil
	case "default":
		if err := install(Default()); err != nil {
			return err
		}
		if err := unix.Unshare(unix.CLONE_NEWUSER); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("unshare: got %v, want EPERM", err)
		}
		return unix.Exec("/bin/true", []string{"true"}, os.Environ())
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func runChild(t *testing.T, mode string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+mode)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child %s: %v\n%s", mode, err, strings.TrimSpace(string(out)))
	}
}

func TestKernelMkdirDenied(t *testing.T) {
	dir := t.TempDir()
	runChild(t, "mkdir", "HULL_SECCOMP_TEST_DIR="+dir)
	if _, err := os.Stat(filepath.Join(dir, "allowed")); err != nil {
		t.Fatalf("child did not write its file: %v", err)
	}
}

func TestKernelDefaultExecsTrue(t *testing.T) {
	runChild(t, "default")
}

// TestKernelAcceptsPrograms hands compiled programs to the kernel's classic BPF
// checker by attaching them to a socket, which needs no privilege and changes nothing.
func TestKernelAcceptsPrograms(t *testing.T) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	long, _ := longJumpProfile()
	for name, s := range map[string]*specs.LinuxSeccomp{
		"default":    Default(),
		"long jumps": long,
	} {
		f, err := Compile(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		prog := unix.SockFprog{Len: uint16(len(f.Program)), Filter: &f.Program[0]}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
			t.Errorf("%s (%d instructions): kernel rejects the program: %v", name, len(f.Program), err)
		}
	}
}
