package runtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/initproc"
	"github.com/hullrt/hull/runtime/stub"
	"github.com/hullrt/hull/runtime/sysmon"
)

// ExecOptions are exec's flags (runc's names).
type ExecOptions struct {
	ID            string
	Process       *specs.Process // the whole process: from --process, or ExecProcess plus flags
	Detach        bool
	PidFile       string
	ConsoleSocket string
	// Stdio, when set, are the process's stdin, stdout and stderr (nil entries: the caller's own).
	Stdio [3]*os.File
	// KeepSignals leaves the caller's signals alone: an in-process caller (the supervisor running
	// a health check) must not have its SIGTERM forwarded to the check. Cancelling ctx kills the
	// process either way.
	KeepSignals bool
}

// ExecProcess is the base of `exec ID CMD...` without --process: the container's own process
// settings (env, cwd, user, capabilities, rlimits, no_new_privs, AppArmor), as runc does, so an
// exec'd process is confined exactly like the container's.
func (r *Runtime) ExecProcess(id string) (*specs.Process, error) {
	s, err := r.load(id)
	if err != nil {
		return nil, err
	}
	if s.Spec.Process == nil {
		return &specs.Process{Cwd: "/", Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}}, nil
	}
	p := *s.Spec.Process
	p.Terminal, p.ConsoleSize, p.Args = false, nil, nil
	return &p, nil
}

// Exec runs another process in a running container: it joins every namespace of the container
// and its cgroups, and gets the container's seccomp filter and, unless the process says
// otherwise, its capabilities, rlimits, no_new_privs, AppArmor profile and SELinux label. Detached, it returns once the process
// runs (the pid file written); otherwise it waits and returns the process's exit code.
//
// How: a thread of ours joins the container's namespaces (setns; joining the mount namespace
// also makes the container's root that thread's root) and clones the stub from there, so the
// child is born inside. A user or time namespace only a single-threaded process may join: the
// stub joins those itself, first thing, from fds we pass it. The stub waits on a private fifo
// while we move it into the cgroups and set its rlimits, then does the same identity change as
// at start and execve()s.
func (r *Runtime) Exec(ctx context.Context, o ExecOptions) (int, error) {
	s, err := r.load(o.ID)
	if err != nil {
		return 0, err
	}
	switch st := r.status(s); st {
	case Running, Created:
	default:
		return 0, fmt.Errorf("cannot exec in a %s container", st)
	}
	p := o.Process
	if err := validateProcess(p); err != nil {
		return 0, fmt.Errorf("invalid process: %w", err)
	}
	p = execLabels(p, s.Spec.Process)
	lsm, err := initproc.LSMFor(p)
	if err != nil {
		return 0, err
	}
	if p.Terminal && o.Detach && o.ConsoleSocket == "" {
		return 0, errors.New("a detached exec with a terminal needs --console-socket")
	}
	initfd, err := s.pidfd()
	if err != nil {
		return 0, fmt.Errorf("cannot exec in a stopped container")
	}
	defer unix.Close(initfd)

	fifo, err := r.execFifo(s)
	if err != nil {
		return 0, err
	}
	defer os.Remove(fifo.Name())
	defer fifo.Close()

	c, err := r.spawnInside(s, p, lsm, fifo, o.Stdio)
	if err != nil {
		return 0, err
	}
	defer unix.Close(c.pidfd)
	if err := r.releaseExec(s, p, c, fifo.Name()); err != nil {
		_ = unix.PidfdSendSignal(c.pidfd, unix.SIGKILL, nil, 0)
		_ = c.cmd.Wait()
		return 0, err
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, c.cmd.Process.Pid); err != nil {
			return 0, err
		}
	}
	waitTTY := func() {}
	if c.master != nil {
		if o.ConsoleSocket != "" {
			err = sendConsole(o.ConsoleSocket, c.master)
			c.master.Close()
		} else {
			waitTTY = terminal(c.master)
		}
		if err != nil {
			return 0, err
		}
	}
	if o.Detach {
		return 0, nil
	}
	done := make(chan struct{})
	defer close(done)
	if !o.KeepSignals {
		sigs := make(chan os.Signal, 16)
		signal.Notify(sigs, forwarded...)
		defer signal.Stop(sigs)
		go r.forward(sigs, c.pidfd, done)
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = unix.PidfdSendSignal(c.pidfd, unix.SIGKILL, nil, 0)
		case <-done:
		}
	}()
	err = c.cmd.Wait()
	code := 255 // wait itself failed: there is no exit status to report
	if ps := c.cmd.ProcessState; ps != nil && (err == nil || errors.As(err, new(*exec.ExitError))) {
		code = exitCode(unix.WaitStatus(ps.Sys().(syscall.WaitStatus)), nil)
	}
	waitTTY()
	return code, nil
}

// execFifo makes the private fifo one exec'd stub waits on, and holds it with O_PATH.
func (r *Runtime) execFifo(s *State) (*os.File, error) {
	var b [6]byte
	_, _ = rand.Read(b[:])
	path := filepath.Join(r.dir(s.ID), "exec-"+hex.EncodeToString(b[:])+".fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("exec fifo: %w", err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// execChild is an exec'd process while hull holds it.
type execChild struct {
	cmd    *exec.Cmd
	pidfd  int
	master *os.File // pty master, when the process has a terminal
}

// spawnInside joins the container's namespaces on a thread locked for good and starts the stub
// from it. Everything that must resolve inside the container (the executable, the pty) is
// looked up on that thread.
func (r *Runtime) spawnInside(s *State, p *specs.Process, lsm initproc.HostLSM, fifo *os.File, stdio [3]*os.File) (*execChild, error) {
	type result struct {
		c   *execChild
		err error
	}
	res := make(chan result, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: Go retires the thread when this returns
		c, err := r.startInside(s, p, lsm, fifo, stdio)
		res <- result{c, err}
	}()
	out := <-res
	return out.c, out.err
}

func (r *Runtime) startInside(s *State, p *specs.Process, lsm initproc.HostLSM, fifo *os.File, stdio [3]*os.File) (*execChild, error) {
	joins := make([]specs.LinuxNamespace, 0, len(s.Spec.Linux.Namespaces))
	for _, ns := range s.Spec.Linux.Namespaces {
		joins = append(joins, specs.LinuxNamespace{Type: ns.Type, Path: namespaces.ProcPath(s.Pid, ns.Type)})
	}
	// The user and time namespaces, for the stub, and what the user namespace changes: read from
	// the host's /proc, so before the mount namespace is joined.
	alone, user, err := openAlone(namespaces.ToJoinAlone(joins))
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range alone {
			f.Close()
		}
	}()
	var uns *userNS
	if user {
		if uns, err = readUserNS(s.Pid); err != nil {
			return nil, err
		}
	}
	for _, ns := range namespaces.ToJoin(joins) {
		if err := namespaces.Join(ns, r); err != nil {
			return nil, err
		}
	}
	path, err := initproc.LookPath(p.Args[0], p.Env)
	if err != nil {
		return nil, err
	}
	prog, err := initproc.StubProgram(p, path, s.Spec.Linux.Seccomp, lsm)
	if err != nil {
		return nil, err
	}
	if uns != nil {
		if err := uns.adapt(&prog, p); err != nil {
			return nil, err
		}
	}
	prog.FifoFD = 5 // ExtraFiles: 3 stub, 4 program, 5 fifo, 6... namespaces for the stub
	exe, progFile, err := stub.Prepare(prog)
	if err != nil {
		return nil, err
	}
	defer exe.Close()
	defer progFile.Close()
	c := &execChild{pidfd: -1}
	std := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range stdio {
		if f != nil {
			std[i] = f
		}
	}
	cmd := &exec.Cmd{
		Path: "/proc/self/fd/3", Env: []string{}, Dir: p.Cwd,
		Stdin: std[0], Stdout: std[1], Stderr: std[2],
		ExtraFiles:  []*os.File{exe, progFile, fifo},
		SysProcAttr: &syscall.SysProcAttr{PidFD: &c.pidfd},
	}
	var nsFDs []int
	for _, f := range alone {
		nsFDs = append(nsFDs, 3+len(cmd.ExtraFiles))
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	cmd.Args = stub.Argv(4, nsFDs...)
	if p.Terminal {
		master, slave, err := openPty(p)
		if err != nil {
			return nil, err
		}
		defer slave.Close()
		if uns != nil {
			if err := uns.ownPty(slave); err != nil {
				master.Close()
				return nil, err
			}
		}
		c.master = master
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty, cmd.SysProcAttr.Ctty = true, true, 0
	}
	c.cmd = cmd
	what := fmt.Sprintf("into the namespaces of pid %d: stub → %s %s", s.Pid, path, strings.Join(p.Args[1:], " "))
	if len(alone) > 0 {
		what = fmt.Sprintf("into the namespaces of pid %d: stub, setns %s → %s %s", s.Pid, strings.Join(names(alone), ", "), path, strings.Join(p.Args[1:], " "))
	}
	err = r.step("clone", what, func() error { return sysmon.WithHostSlack(cmd.Start) })
	if err != nil {
		if c.master != nil {
			c.master.Close()
		}
		return nil, fmt.Errorf("exec %s: %w", p.Args[0], err)
	}
	if r.narrating(context.Background()) {
		_, skipped := lsm.Attrs(p)
		r.recordPlanned(SourceStub, initproc.StubSteps(prog, s.Spec.Linux.Seccomp, skipped))
	}
	return c, nil
}

// releaseExec puts the waiting stub into the container's cgroups, applies the rlimits, then
// releases it and waits until its execve happened.
func (r *Runtime) releaseExec(s *State, p *specs.Process, c *execChild, fifo string) error {
	pid := c.cmd.Process.Pid
	cg, err := r.loadCgroup(s)
	if err != nil {
		return err
	}
	if err := r.step("cgroup.apply", fmt.Sprintf("pid %d → %s", pid, s.CgroupPath), func() error { return cg.Apply(pid) }); err != nil {
		return fmt.Errorf("cgroup %s: add pid %d: %w", s.CgroupPath, pid, err)
	}
	for _, rl := range p.Rlimits {
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		res, _ := initproc.RlimitResource(rl.Type) // checked by validate
		if err := r.step("prlimit", fmt.Sprintf("pid %d %s soft=%d hard=%d", pid, rl.Type, rl.Soft, rl.Hard), func() error {
			return unix.Prlimit(pid, res, &lim, nil)
		}); err != nil {
			return fmt.Errorf("set %s: %w", rl.Type, err)
		}
	}
	if p.OOMScoreAdj != nil {
		adj := fmt.Sprint(*p.OOMScoreAdj)
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(adj), 0); err != nil {
			return fmt.Errorf("set oom_score_adj: %w", err)
		}
	}
	err = r.step("open+read", fifo+" (releases the exec'd stub)", func() error { return releaseStub(fifo, c.pidfd) })
	if errors.Is(err, errStubExited) {
		// The stub reports why on the process's stderr (an execve error, say).
		return fmt.Errorf("exec %s: the process failed to start", p.Args[0])
	}
	return err
}

// openPty makes a pty pair in the container's devpts; the calling thread is in its mount
// namespace, so /dev/ptmx is the container's.
func openPty(p *specs.Process) (master, slave *os.File, err error) {
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx in the container: %w", err)
	}
	master = os.NewFile(uintptr(m), "ptmx")
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("pty number: %w", err)
	}
	sfd, err := unix.Open(fmt.Sprintf("/dev/pts/%d", n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	if sz := p.ConsoleSize; sz != nil {
		_ = unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(sz.Height), Col: uint16(sz.Width)})
	}
	return master, os.NewFile(uintptr(sfd), fmt.Sprintf("/dev/pts/%d", n)), nil
}

// sendConsole sends the pty master to the caller's --console-socket (SCM_RIGHTS).
func sendConsole(path string, master *os.File) error {
	f, err := dialConsole(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Sendmsg(int(f.Fd()), []byte("/dev/ptmx"), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return fmt.Errorf("send pty master to console socket: %w", err)
	}
	return nil
}

func names(fs []*os.File) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Name())
	}
	return out
}
