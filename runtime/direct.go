package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/rootfs"
	"github.com/hullrt/hull/runtime/initproc"
	"github.com/hullrt/hull/runtime/stub"
	"github.com/hullrt/hull/runtime/sysmon"
)

// The direct way (doc.go, "Without a Go init"): the container's first process is the C stub from
// the clone on, and a locked thread of hull, in the stub's namespaces, does what hull-init would.

// directOK says whether create may take the direct way for spec: everything it asks for can be
// done from a thread of hull's, and the kernel has what it needs (kernelOK). The rest takes the
// Go init: namespaces given by path, user and time namespaces (which a thread cannot join),
// createContainer and startContainer hooks (they run inside the container), and --no-pivot.
// prestart and createRuntime hooks run in hull's own namespaces either way (hooksAtCreate),
// poststart and poststop ones in start and delete.
func directOK(spec *specs.Spec, o CreateOptions, kernelOK func(newPidNS bool) bool) bool {
	p, l := spec.Process, spec.Linux
	if p == nil || o.NoPivot || (spec.Hooks != nil && len(spec.Hooks.CreateContainer)+len(spec.Hooks.StartContainer) > 0) {
		return false
	}
	if !namespaces.IsNew(l.Namespaces, specs.MountNamespace) {
		return false
	}
	for _, ns := range l.Namespaces {
		if ns.Path != "" || ns.Type == specs.UserNamespace || ns.Type == specs.TimeNamespace {
			return false
		}
	}
	return kernelOK(namespaces.IsNew(l.Namespaces, specs.PIDNamespace))
}

// directKernel says whether the kernel has what the direct way uses: close_range(2) with
// CLOSE_RANGE_CLOEXEC (Linux 5.11), for the stub to keep every inherited fd from the
// container, and, for a new pid namespace, procfs's pidns= option (Linux 6.18), which mounts a
// /proc for a pid namespace the mounter is not in.
func directKernel(newPidNS bool) bool {
	// A range past any fd: nothing changes, but a kernel without the flag says EINVAL or ENOSYS.
	if unix.CloseRange(math.MaxUint32-1, math.MaxUint32-1, unix.CLOSE_RANGE_CLOEXEC) != nil {
		return false
	}
	return !newPidNS || procPidNS()
}

// procPidNS asks whether procfs takes pidns=: an fs_context is enough to ask, nothing is mounted.
func procPidNS() bool {
	fd, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.FsconfigSetString(fd, "pidns", "/proc/self/ns/pid") == nil
}

// direct is what the direct way needs besides the spec: the child's fds, opened on the host.
type direct struct {
	spec     *specs.Spec
	rootfs   string
	lsm      initproc.HostLSM
	stdio    [3]*os.File
	conn     *os.File   // our end of the sync socket, blocking: read and written by the setup thread alone
	child    *os.File   // the stub's end
	exe      *os.File   // the sealed stub
	fifo     *os.File   // O_PATH, for the program's wait
	tasks    []taskFile // v1: the cgroup's tasks files, for the stub to write "0" to
	cgroupFD *os.File   // cgroup v2 side: CLONE_INTO_CGROUP
	console  *os.File   // process.terminal: the connected console socket the pty master goes to
	// hooksAtCreate runs the prestart and createRuntime hooks, given the container's pid. The
	// setup thread calls it, but it runs them on another goroutine, so on an untainted thread:
	// those hooks belong to hull's namespaces, not the container's.
	hooksAtCreate func(pid int) error
}

// taskFile is a cgroup v1 tasks file open for writing, a plain descriptor: an *os.File of a
// cgroup file (which can be polled) would go into Go's netpoller and out again for Fd() and
// Close(), five system calls more a file, for a dozen files a container.
type taskFile struct {
	fd  int
	dir string // the cgroup
}

// The child's fds: 3 sync socket, 4 stub (its executable), 5 fifo, 6... tasks files.
const directFifoFD = 5

func (d *direct) close() {
	for _, f := range []*os.File{d.child, d.exe, d.fifo, d.cgroupFD, d.console} {
		if f != nil {
			f.Close()
		}
	}
	for _, t := range d.tasks {
		unix.Close(t.fd)
	}
}

// spawnDirect makes the container the direct way and returns once the stub waits for start.
// A non-nil spawned comes back with an error too when the stub was started: the caller kills it.
func (r *Runtime) spawnDirect(spec *specs.Spec, rootfsDir string, o CreateOptions, cg cgroups.Manager, fifo string, lsm initproc.HostLSM, hooksAtCreate func(pid int) error) (*spawned, error) {
	d, err := r.openDirect(spec, rootfsDir, o, cg, fifo, lsm)
	if err != nil {
		return nil, err
	}
	d.hooksAtCreate = hooksAtCreate
	defer d.close()
	type result struct {
		sp  *spawned
		err error
	}
	res := make(chan result, 1)
	// The thread joins the container's namespaces and pivots into its root: Go retires it.
	go onRetirableThread(func() {
		sysmon.GrowStackTo8K() // the setup's calls go deep: see package sysmon
		sp, err := r.setUpDirect(d)
		res <- result{sp, err}
	})
	out := <-res
	if out.sp == nil {
		d.conn.Close()
	}
	return out.sp, out.err
}

func (r *Runtime) openDirect(spec *specs.Spec, rootfsDir string, o CreateOptions, cg cgroups.Manager, fifo string, lsm initproc.HostLSM) (_ *direct, err error) {
	d := &direct{spec: spec, rootfs: rootfsDir, lsm: lsm, stdio: [3]*os.File{os.Stdin, os.Stdout, os.Stderr}}
	defer func() {
		if err != nil {
			d.close()
			if d.conn != nil {
				d.conn.Close()
			}
		}
	}()
	for i, f := range o.Stdio {
		if f != nil {
			d.stdio[i] = f
		}
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	// Blocking, not in Go's netpoller: a locked thread that parks a goroutine on the poller
	// costs a thread hand-off each way (Go's stoplockedm/startlockedm); one blocking read
	// sleeps in the kernel.
	d.conn = os.NewFile(uintptr(pair[0]), "sync")
	d.child = os.NewFile(uintptr(pair[1]), "sync")
	if d.exe, err = stub.Exe(); err != nil {
		return nil, err
	}
	fd, err := unix.Open(fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	d.fifo = os.NewFile(uintptr(fd), fifo)
	if tj, ok := cg.(cgroups.ThreadJoiner); ok {
		for _, dir := range tj.ThreadDirs() {
			path := dir + "/tasks"
			fd, err := unix.Open(path, unix.O_WRONLY|unix.O_TRUNC|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, fmt.Errorf("cgroup %s: %w", dir, &os.PathError{Op: "open", Path: path, Err: err})
			}
			d.tasks = append(d.tasks, taskFile{fd, dir})
		}
	}
	if spec.Process.Terminal {
		switch {
		case o.console != nil: // run's own end: dup it, close() must not take the caller's
			fd, err := unix.FcntlInt(o.console.Fd(), unix.F_DUPFD_CLOEXEC, 3)
			if err != nil {
				return nil, fmt.Errorf("console: %w", err)
			}
			d.console = os.NewFile(uintptr(fd), "console")
		case o.ConsoleSocket != "":
			if d.console, err = dialConsole(o.ConsoleSocket); err != nil {
				return nil, err
			}
		default:
			return nil, errors.New("process.terminal is true but no --console-socket was given")
		}
	}
	if ci, ok := cg.(cgroups.CloneInto); ok {
		if d.cgroupFD, err = ci.OpenDir(); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// setUpDirect runs on a locked thread that it taints for good.
func (r *Runtime) setUpDirect(d *direct) (*spawned, error) {
	if err := r.step("unshare", "CLONE_FS", func() error { return unix.Unshare(unix.CLONE_FS) }); err != nil {
		return nil, fmt.Errorf("unshare CLONE_FS: %w", err)
	}
	sp, err := r.cloneStub(d)
	if err != nil {
		return nil, err
	}
	if err := r.awaitPlaced(d, sp); err != nil {
		return sp, err
	}
	if err := r.buildRoot(d, sp.pid); err != nil {
		return sp, err
	}
	return sp, r.handOver(d, sp)
}

// cloneStub starts the stub in the new namespaces, awaiting its program.
func (r *Runtime) cloneStub(d *direct) (*spawned, error) {
	l := d.spec.Linux
	cgroupNS := namespaces.IsNew(l.Namespaces, specs.CgroupNamespace)
	tasks := make([]int, len(d.tasks))
	for i := range d.tasks {
		tasks[i] = 6 + i
	}
	pidfd := -1
	files := []uintptr{d.stdio[0].Fd(), d.stdio[1].Fd(), d.stdio[2].Fd(), d.child.Fd(), d.exe.Fd(), d.fifo.Fd()}
	for _, t := range d.tasks {
		files = append(files, uintptr(t.fd))
	}
	sys := &syscall.SysProcAttr{
		// cgroup: the stub unshares it once in its cgroups; time: never on this way.
		Cloneflags: namespaces.CloneFlags(l.Namespaces) &^ unix.CLONE_NEWCGROUP,
		Setsid:     true,
		PidFD:      &pidfd, // no Pdeathsig: the stub sets its own (see spawn)
	}
	if d.cgroupFD != nil {
		sys.UseCgroupFD, sys.CgroupFD = true, int(d.cgroupFD.Fd())
	}
	what := namespaces.Describe(sys.Cloneflags) + " stub await"
	var pid int
	// syscall.ForkExec, not os/exec: os.StartProcess first proves, once per process, that
	// clone(CLONE_PIDFD) works by cloning a throwaway child of all of hull.
	err := r.step("clone", what, func() error {
		return sysmon.WithHostSlack(func() (err error) {
			pid, err = syscall.ForkExec("/proc/self/fd/4", stub.AwaitArgv(3, cgroupNS, tasks),
				&syscall.ProcAttr{Env: []string{}, Files: files, Sys: sys})
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("start container process: %w", err)
	}
	d.child.Close() // a stub that dies now reads as EOF
	d.child = nil
	return &spawned{pid: pid, pidfd: pidfd, conn: d.conn, bornInside: true, release: func() {}}, nil
}

// awaitPlaced waits for the stub's "p": it is in its cgroups and its cgroup namespace. Then this
// thread sets its OOM score and joins its namespaces, but the pid namespace, which only a
// thread's children would enter.
func (r *Runtime) awaitPlaced(d *direct, sp *spawned) error {
	var b [1]byte
	if _, err := io.ReadFull(d.conn, b[:]); err != nil || b[0] != 'p' {
		return stubFailure(d.conn, b[:], err, sp)
	}
	// What the stub did, for the narration (it reports no times).
	stubRec := r.RecorderFor(SourceStub)
	for _, t := range d.tasks {
		stubRec.Step("cgroup.write", "tasks=0 in "+t.dir, nil, 0)
	}
	if namespaces.IsNew(d.spec.Linux.Namespaces, specs.CgroupNamespace) {
		stubRec.Step("unshare", "CLONE_NEWCGROUP", nil, 0)
	}
	if p := d.spec.Process; p.OOMScoreAdj != nil {
		adj := strconv.Itoa(*p.OOMScoreAdj)
		path := fmt.Sprintf("/proc/%d/oom_score_adj", sp.pid)
		if err := r.step("write", adj+" > "+path, func() error { return os.WriteFile(path, []byte(adj), 0) }); err != nil {
			return fmt.Errorf("set oom_score_adj: %w", err)
		}
	}
	flags := namespaces.CloneFlags(d.spec.Linux.Namespaces) &^ unix.CLONE_NEWPID
	err := r.step("setns", fmt.Sprintf("pidfd of %d %s", sp.pid, namespaces.Describe(flags)), func() error {
		return unix.Setns(sp.pidfd, int(flags))
	})
	if err != nil {
		return fmt.Errorf("join the container's namespaces: %w", err)
	}
	return nil
}

// stubFailure explains a stub that did not answer as expected: its "hull: ..." line, or its end.
func stubFailure(conn io.Reader, got []byte, err error, sp *spawned) error {
	if err == nil {
		rest, _ := io.ReadAll(conn)
		if msg := strings.TrimSpace(string(append(got, rest...))); msg != "" {
			return errors.New(strings.TrimPrefix(msg, "hull: "))
		}
	}
	if ws, werr := sp.wait(); werr == nil {
		return fmt.Errorf("container process exited during setup (%s)", ws)
	}
	return fmt.Errorf("container process: %w", err)
}

// buildRoot mounts the container's root filesystem and enters it, as hull-init does, but with
// everything that names a file through /proc done before pivot_root (rootfs.FinishBeforePivot).
func (r *Runtime) buildRoot(d *direct, pid int) error {
	s, l := d.spec, d.spec.Linux
	o := rootfs.Options{CgroupNS: namespaces.Has(l.Namespaces, specs.CgroupNamespace), Pid: pid}
	// The stub's mount namespace is a copy of hull's: the cgroup mounts are the ones hull
	// read for the cgroups it made (an error here leaves rootfs to read the stub's).
	o.HostMountinfo, _ = cgroups.HostMountinfo()
	if namespaces.IsNew(l.Namespaces, specs.PIDNamespace) {
		o.ProcPidNS = fmt.Sprintf("/proc/%d/ns/pid", pid)
	}
	plan, err := rootfs.NewPlan(s, d.rootfs, o)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := plan.Mount(r); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := initproc.SetHostname(s, r.step); err != nil {
		return err
	}
	if d.hooksAtCreate != nil {
		errc := make(chan error, 1)
		go func() { errc <- d.hooksAtCreate(pid) }() // never on this locked thread
		if err := <-errc; err != nil {
			return err
		}
	}
	if len(l.Sysctl) > 0 {
		proc := filepath.Join(plan.Rootfs, "proc")
		if err := rootfs.CheckProcfs(proc); err != nil {
			return fmt.Errorf("sysctl: %w", err)
		}
		if err := initproc.WriteSysctls(proc, l.Sysctl, r.step); err != nil {
			return err
		}
	}
	if err := plan.MakeDir(r, s.Process.Cwd); err != nil {
		return fmt.Errorf("create cwd %q set in config.json: %w", s.Process.Cwd, err)
	}
	if err := plan.FinishBeforePivot(r); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := plan.Pivot(r); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if err := plan.Propagate(r); err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return nil
}

// handOver gives the stub, pivoted with this thread into the new root, its program, working
// directory, umask and rlimits, and waits for it to let go of this thread (the socket's EOF).
func (r *Runtime) handOver(d *direct, sp *spawned) error {
	p := d.spec.Process
	fd, err := unix.Open(p.Cwd, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("chdir to cwd %q set in config.json: %w", p.Cwd, err)
	}
	cwd := os.NewFile(uintptr(fd), p.Cwd)
	defer cwd.Close()
	// LookPath reads a relative PATH entry from the cwd, as the stub will.
	if err := r.step("chdir", p.Cwd, func() error { return unix.Fchdir(fd) }); err != nil {
		return fmt.Errorf("chdir to cwd %q set in config.json: %w", p.Cwd, err)
	}
	path, err := initproc.LookPath(p.Args[0], p.Env)
	if err != nil {
		return err
	}
	prog, err := initproc.StubProgram(p, path, d.spec.Linux.Seccomp, d.lsm)
	if err != nil {
		return err
	}
	prog.FifoFD = directFifoFD
	for _, rl := range p.Rlimits {
		lim := unix.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		res, _ := initproc.RlimitResource(rl.Type) // checked by validate
		if err := r.step("prlimit", fmt.Sprintf("pid %d %s soft=%d hard=%d", sp.pid, rl.Type, rl.Soft, rl.Hard), func() error {
			return unix.Prlimit(sp.pid, res, &lim, nil)
		}); err != nil {
			return fmt.Errorf("set %s: %w", rl.Type, err)
		}
	}
	var tty *os.File
	if p.Terminal {
		// The pty comes from the container's devpts: this thread sees the container's /dev now.
		master, slave, err := openPty(p)
		if err != nil {
			return err
		}
		defer slave.Close()
		err = r.step("sendmsg", fmt.Sprintf("SCM_RIGHTS pty master (%s) → console socket", slave.Name()), func() error {
			defer master.Close()
			return unix.Sendmsg(int(d.console.Fd()), []byte(slave.Name()), unix.UnixRights(int(master.Fd())), nil, 0)
		})
		if err != nil {
			return fmt.Errorf("send pty master to console socket: %w", err)
		}
		tty = slave
	}
	umask := stub.NoUmask
	if p.User.Umask != nil {
		umask = *p.User.Umask
	}
	if r.narrating(context.Background()) {
		_, skipped := d.lsm.Attrs(p)
		r.recordPlanned(SourceStub, initproc.StubSteps(prog, d.spec.Linux.Seccomp, skipped))
	}
	err = r.step("sendmsg", fmt.Sprintf("program (memfd, sealed), cwd %s → stub %d: waits on exec fifo, then execve %s %s", p.Cwd, sp.pid, path, strings.Join(p.Args[1:], " ")),
		func() error { return stub.SendProgram(int(d.conn.Fd()), prog, cwd, tty, umask) })
	if err != nil {
		return err
	}
	rest, err := io.ReadAll(d.conn)
	if err != nil || len(rest) > 0 || exited(sp.pidfd) {
		return stubFailure(bytes.NewReader(nil), rest, err, sp)
	}
	return nil
}

// exited says whether the process behind pidfd has ended (the pidfd polls readable).
func exited(pidfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}
