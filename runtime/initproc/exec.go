package initproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/caps"
	"github.com/hullrt/hull/runtime/seccomp"
	"github.com/hullrt/hull/runtime/stub"
)

// execProcess is the init's last stretch, inside the finished root: the process's terminal, cwd,
// executable, credentials and limits, then the stub takes over.
func (in *initProc) execProcess(fifo int) error {
	p := in.b.Spec.Process
	if p.Terminal {
		if err := in.setupConsole(p); err != nil {
			return err
		}
	}
	if err := in.rec.step("chdir", p.Cwd, func() error { return unix.Chdir(p.Cwd) }); err != nil {
		return fmt.Errorf("chdir to cwd %q set in config.json: %w", p.Cwd, err)
	}
	// After pivot_root every path is inside the rootfs; a cwd outside it (say, through a leaked
	// fd) would show as "(unreachable)". Refuse it (CVE-2024-21626).
	if wd, err := os.Getwd(); err != nil || strings.HasPrefix(wd, "(") {
		return fmt.Errorf("cwd %q is not inside the container", p.Cwd)
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	path, err := LookPath(p.Args[0], p.Env)
	if err != nil {
		return err
	}
	prog, err := in.program(p, path)
	if err != nil {
		return err
	}
	if err := setRlimits(p.Rlimits, in.rec.step); err != nil {
		return err
	}
	prog.FifoFD = fifo
	_, skipped := in.b.LSM.Attrs(p)
	in.rec.planned(SourceStub, StubSteps(prog, in.b.Spec.Linux.Seccomp, skipped))
	in.rec.Step("execveat", fmt.Sprintf("stub (memfd, sealed) → waits on exec fifo, then execve %s %s", path, strings.Join(p.Args[1:], " ")), nil, 0)
	if prog.TimeNSFD, err = in.newTimeNS(); err != nil {
		return err
	}
	if h := in.b.Spec.Hooks; h != nil && len(h.StartContainer) > 0 {
		return in.startContainerHooks(prog, h.StartContainer)
	}
	if err := in.detach(false); err != nil {
		return err
	}
	return stub.Exec(prog)
}

// startContainerHooks serves a spec with startContainer hooks, which run in the container after
// `start` and before the user's process. This init stays instead of the stub: it lets create
// return, blocks on the fifo until start opens it, runs the hooks, and only then writes the byte
// that lets start return; the stub then execs at once. A failing hook kills the start: the init
// exits and start reports it.
func (in *initProc) startContainerHooks(prog stub.Program, hooks []specs.Hook) error {
	if err := in.detach(true); err != nil {
		return err
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", prog.FifoFD), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open exec fifo: %w", err)
	}
	if err := RunHooks(context.Background(), in.rec.step, "startContainer", hooks, in.state(specs.StateRunning)); err != nil {
		fmt.Fprintln(os.Stderr, "hull:", err)
		os.Exit(1)
	}
	if _, err := unix.Write(fd, []byte("0")); err != nil {
		return fmt.Errorf("write exec fifo: %w", err)
	}
	unix.Close(fd)
	unix.Close(prog.FifoFD)
	prog.FifoFD = -1
	return stub.Exec(prog)
}

// program builds what the stub needs for the final identity change and execve.
func (in *initProc) program(p *specs.Process, path string) (stub.Program, error) {
	prog, err := StubProgram(p, path, in.b.Spec.Linux.Seccomp, in.b.LSM)
	if err != nil {
		return prog, err
	}
	if in.b.InUserNS {
		// A user namespace whose setgroups file says "deny" refuses setgroups(2).
		if b, err := os.ReadFile("/proc/self/setgroups"); err == nil && strings.TrimSpace(string(b)) == "deny" {
			prog.SkipSetgroups = true
		}
	}
	return prog, nil
}

// StubProgram turns an OCI process into the stub's program: identity, capabilities, LSM
// labels, no_new_privs and the compiled seccomp filter. Used for the container's process and for
// exec.
func StubProgram(p *specs.Process, path string, sc *specs.LinuxSeccomp, lsm HostLSM) (stub.Program, error) {
	prog := stub.Program{
		Path: path, Argv: p.Args, Env: p.Env,
		UID: p.User.UID, GID: p.User.GID, AdditionalGids: p.User.AdditionalGids,
		NoNewPrivileges: p.NoNewPrivileges,
	}
	prog.Attrs, _ = lsm.Attrs(p)
	c, err := capsFor(p.Capabilities)
	if err != nil {
		return prog, err
	}
	prog.Caps = c
	last, err := caps.LastCap()
	if err != nil {
		return prog, err
	}
	prog.CapLastCap = last
	if sc != nil {
		f, err := seccomp.Compile(sc)
		if err != nil {
			return prog, fmt.Errorf("seccomp: %w", err)
		}
		prog.Seccomp, prog.SeccompFlags = f.Program, f.Flags
	}
	return prog, nil
}

// capsFor parses the five sets. Capabilities this process does not hold (the kernel is older, or
// the host's bounding set lacks them, as CAP_SYS_RESOURCE here) cannot be granted: they are left
// out rather than failing capset, as runc ≥1.2 does.
func capsFor(c *specs.LinuxCapabilities) (stub.Caps, error) {
	if c == nil {
		return stub.Caps{}, nil
	}
	have, err := permitted()
	if err != nil {
		return stub.Caps{}, err
	}
	return CapsWithin(c, have)
}

// capsWithin parses the five sets, keeping only the capabilities in have.
func CapsWithin(c *specs.LinuxCapabilities, have uint64) (stub.Caps, error) {
	if c == nil {
		return stub.Caps{}, nil
	}
	var out stub.Caps
	for _, x := range []struct {
		dst   *uint64
		names []string
	}{{&out.Bounding, c.Bounding}, {&out.Effective, c.Effective}, {&out.Permitted, c.Permitted},
		{&out.Inheritable, c.Inheritable}, {&out.Ambient, c.Ambient}} {
		m, err := caps.Parse(x.names)
		if err != nil {
			return out, err
		}
		*x.dst = m & have
	}
	// The kernel refuses an effective cap that is not permitted, and an ambient one that is not
	// both permitted and inheritable; runc drops such bits with a warning, and so does hull.
	out.Effective &= out.Permitted
	out.Ambient &= out.Permitted & out.Inheritable
	return out, nil
}

// permitted is this process's permitted capability set (capget(2)).
func permitted() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("capget: %w", err)
	}
	return uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32, nil
}

// lookPath finds the executable inside the container as execvp(3) would, with the process's
// PATH. Errors keep runc's wording: Docker and podman map "no such file or directory" and
// "executable file not found" to exit 127 and "permission denied" to 126.
func LookPath(arg0 string, env []string) (string, error) {
	if strings.Contains(arg0, "/") {
		return arg0, checkExecutable(arg0)
	}
	pathVar := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		if dir == "" {
			dir = "."
		}
		cand := filepath.Join(dir, arg0)
		if err := checkExecutable(cand); err == nil {
			return cand, nil
		}
	}
	return "", fmt.Errorf("exec: %q: executable file not found in $PATH", arg0)
}

func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("exec: %q: stat %s: %w", path, path, pe.Err)
		}
		return fmt.Errorf("exec: %q: %w", path, err)
	}
	if fi.IsDir() || unix.Access(path, unix.X_OK) != nil {
		return fmt.Errorf("exec: %q: %w", path, unix.EACCES)
	}
	return nil
}

// newTimeNS makes the container's new time namespace, if asked, as the init's last step, and
// returns an fd of it for the stub to join: the offsets may be written only before any task is in
// it, and only a single-threaded process (the stub, not the Go init) may setns into one. It is
// made this late because kernels before 6.3 refuse to create a thread (or a vfork-style child, as
// Go's exec makes) while a task's time namespace and the one for its children differ.
func (in *initProc) newTimeNS() (int, error) {
	l := in.b.Spec.Linux
	if !namespaces.IsNew(l.Namespaces, specs.TimeNamespace) {
		return 0, nil
	}
	if err := in.rec.step("unshare", "CLONE_NEWTIME", func() error { return unix.Unshare(unix.CLONE_NEWTIME) }); err != nil {
		return 0, fmt.Errorf("unshare time namespace: %w", err)
	}
	for clock, off := range l.TimeOffsets {
		line := fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs)
		// timens_offsets acts on one task's namespace for children: this thread's, by its tid in
		// the container's pid namespace, whose /proc is mounted now.
		path := fmt.Sprintf("/proc/%d/timens_offsets", unix.Gettid())
		if err := in.rec.step("write", line+" > "+path, func() error { return os.WriteFile(path, []byte(line), 0) }); err != nil {
			return 0, fmt.Errorf("time offset %s: %w", clock, err)
		}
	}
	// The stub joins it with setns (kernels before 6.x do not switch at execve).
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/time_for_children", unix.Gettid()), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open new time namespace: %w", err)
	}
	return fd, nil
}
