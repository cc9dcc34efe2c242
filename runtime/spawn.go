package runtime

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/sysmon"
)

// spawned is the container's init as the parent holds it during create.
type spawned struct {
	pid        int
	pidfd      int
	conn       io.ReadWriteCloser // the sync socket
	bornInside bool               // born in its cgroup (clone3 CLONE_INTO_CGROUP) or moves itself (joinDirs)
	release    func()             // lets the spawner thread go
	joinDirs   []string           // v1 cgroup dirs the init moves its own thread into (v1thread.Join)
}

// spawn clones `hull init` into the container's namespaces. Joining existing namespaces changes
// the calling OS thread only, so it happens on a thread locked for this purpose, and the clone is
// made from that same thread. The thread is kept until release: it is the init's parent in the
// kernel's eyes, and PR_SET_PDEATHSIG fires when that thread ends. cg is nil when the cgroup is
// made after the clone (see create): the init starts outside it, and create says where it goes.
func (r *Runtime) spawn(ctx context.Context, spec *specs.Spec, o CreateOptions, cg cgroups.Manager) (sp *spawned, err error) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parentEnd, childEnd := os.NewFile(uintptr(pair[0]), "sync"), os.NewFile(uintptr(pair[1]), "sync")
	defer childEnd.Close()
	conn, err := net.FileConn(parentEnd)
	parentEnd.Close()
	if err != nil {
		return nil, fmt.Errorf("sync socket: %w", err)
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	// The child's fds: 3 sync socket, 4 console socket (or closed).
	extra := []*os.File{childEnd, nil}
	switch {
	case o.console != nil:
		extra[1] = o.console
	case o.ConsoleSocket != "":
		f, err := dialConsole(o.ConsoleSocket)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		extra[1] = f
	}

	l := spec.Linux
	pidfd := -1
	stdio := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range o.Stdio {
		if f != nil {
			stdio[i] = f
		}
	}
	cmd := &exec.Cmd{
		// One P: the init's work is one locked thread's, and a second P has the Go runtime
		// start threads at start-up for nothing (2.27 -> 2.02 ms of CPU per start, 400 starts).
		Path: "/proc/self/exe", Args: []string{"hull", "init"}, Env: []string{"GOMAXPROCS=1"},
		Stdin: stdio[0], Stdout: stdio[1], Stderr: stdio[2], ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{
			// cgroup: unshared by the init once it is in its cgroup; time: by the init too (newTimeNS).
			Cloneflags: namespaces.CloneFlags(l.Namespaces) &^ (unix.CLONE_NEWCGROUP | unix.CLONE_NEWTIME),
			Setsid:     true,
			// No Pdeathsig here: Go's child kills itself when getppid() differs from our pid,
			// and across a pid namespace boundary getppid() is 0. A new namespace's pid 1 only
			// survives that because the kernel drops SIGKILL sent to an init from inside; the
			// member of a joined pid namespace dies. The init sets PR_SET_PDEATHSIG itself
			// (Init); before that, the sync socket's EOF tells it that hull is gone.
			PidFD: &pidfd,
		},
	}
	// Where the init is born: in its cgroup in every hierarchy when that can be arranged, so
	// that nothing has to move it (a cgroup.procs write may wait out an RCU grace period, see
	// cgroups.ThreadJoiner); otherwise place moves it while it starts.
	bornInside, joinDirs := false, []string(nil)
	if tj, ok := cg.(cgroups.ThreadJoiner); ok && selfJoins(l) {
		// v1: the init moves its own locked thread first thing (v1thread.Join).
		joinDirs = tj.ThreadDirs()
	}
	if ci, ok := cg.(cgroups.CloneInto); ok && (joinDirs != nil || !isThreadJoiner(cg)) {
		// The cgroup2 side (pure v2, or hybrid's unified mount): clone3(CLONE_INTO_CGROUP).
		dir, err := ci.OpenDir()
		if err != nil {
			return nil, err
		}
		if dir != nil {
			defer dir.Close()
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
		}
		bornInside = true
	}
	if namespaces.IsNew(l.Namespaces, specs.UserNamespace) {
		cmd.SysProcAttr.UidMappings = namespaces.IDMappings(l.UIDMappings)
		cmd.SysProcAttr.GidMappings = namespaces.IDMappings(l.GIDMappings)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
		// Our host uid stays ours across clone, and it may be unmapped in the new namespace (root
		// mapping container 0 to host 100000): execve would then drop every capability. Becoming
		// the namespace's root after the maps are written, as runc's nsexec does, keeps them.
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}

	what := namespaces.Describe(cmd.SysProcAttr.Cloneflags) + " hull init"
	// A user or time namespace to join: the stub joins it and clones the init (spawn_enter.go).
	e, err := r.entryFor(cmd, l)
	if err != nil {
		return nil, err
	}
	if e != nil {
		defer e.close()
		what = e.what()
	} else if exe := r.initExe(false); exe != nil {
		// The lean init (initexe.go), as fd 5 for its execve: a fd of the file checked by fstat.
		defer exe.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, exe)
		cmd.Path = "/proc/self/fd/" + strconv.Itoa(len(cmd.ExtraFiles)+2)
	}

	started, release := make(chan error, 1), make(chan struct{})
	if r.OneShot && e == nil && len(namespaces.ToJoin(l.Namespaces)) == 0 {
		// Nothing to join, in a process that ends no thread (OneShot): the clone may come from
		// whichever thread runs this goroutine, since Go ends only threads that a goroutine
		// exited locked to, and the init's parent-death signal, which follows that thread,
		// fires when hull does. A thread locked for the init cost every `hull run` ≈0.8 ms of
		// CPU, in the scheduler's hand-offs between locked threads (perf, 150 runs each).
		started <- r.step("clone", what, func() error { return sysmon.WithHostSlack(cmd.Start) })
		close(release)
	} else {
		go onRetirableThread(r.cloneOnLockedThread(l, what, cmd, started, release))
	}
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start container init: %w", err)
	}
	pid := cmd.Process.Pid
	if e != nil {
		childEnd.Close() // a stub that dies without a word then reads as EOF
		if pid, pidfd, err = e.receive(r, conn, cmd); err != nil {
			close(release)
			return nil, fmt.Errorf("start container init: %w", err)
		}
	} else {
		_ = cmd.Process.Release() // reaped by pid (spawned.reap), like every container process
	}
	var once bool
	sp = &spawned{pid: pid, pidfd: pidfd, conn: conn, bornInside: bornInside, release: func() {
		if !once {
			once = true
			select {
			case <-release: // closed already: no thread waits
			default:
				close(release)
			}
		}
	}}
	sp.joinDirs = joinDirs
	return sp, nil
}

// selfJoins says whether the init can move itself into its v1 cgroups: it writes the host's
// cgroup files, so it must see the host's mounts (no joined mount namespace) with the host's
// root (no new user namespace, whose root the files do not admit).
func selfJoins(l *specs.Linux) bool {
	for _, ns := range l.Namespaces {
		if ns.Type == specs.UserNamespace || (ns.Type == specs.MountNamespace && ns.Path != "") {
			return false
		}
	}
	return true
}

func isThreadJoiner(cg cgroups.Manager) bool {
	_, ok := cg.(cgroups.ThreadJoiner)
	return ok
}

// cloneOnLockedThread joins the namespaces to join on the current, locked thread and clones
// the init from it; the thread waits for release (the init's parent-death signal follows it),
// then goes back to Go, or, if joining changed it, is retired.
func (r *Runtime) cloneOnLockedThread(l *specs.Linux, what string, cmd *exec.Cmd, started chan<- error, release <-chan struct{}) func() {
	return func() {
		tainted, err := r.enterNamespaces(l)
		if err == nil {
			err = r.step("clone", what, func() error { return sysmon.WithHostSlack(cmd.Start) })
		}
		started <- err
		if err == nil {
			<-release
		}
		if !tainted {
			goruntime.UnlockOSThread()
		} // a tainted thread is retired by Go when this goroutine returns
	}
}

// onRetirableThread runs fn locked to an OS thread that Go can retire if fn leaves it locked:
// any but the process's main thread, which Go never ends (a tainted main thread would stay in
// the container's namespaces and cgroups for hull's whole life, where delete finds it). To stay
// off the main thread, a goroutine that got it holds it while fn runs elsewhere.
func onRetirableThread(fn func()) {
	goruntime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		fn()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		goruntime.LockOSThread() // cannot be the main thread: this goroutine holds it
		fn()
	}()
	<-done
	goruntime.UnlockOSThread()
}

// enterNamespaces joins the spec's existing namespaces on the current (locked) thread. tainted
// says whether the thread was changed. (A new time namespace is made by the init: newTimeNS.)
func (r *Runtime) enterNamespaces(l *specs.Linux) (tainted bool, err error) {
	for _, ns := range namespaces.ToJoin(l.Namespaces) {
		tainted = true
		if err := namespaces.Join(ns, r); err != nil {
			return tainted, err
		}
	}
	return tainted, nil
}

// kill stops a half-made init and reaps it.
func (sp *spawned) kill() {
	if sp.pidfd >= 0 {
		_ = unix.PidfdSendSignal(sp.pidfd, unix.SIGKILL, nil, 0)
	} else {
		_ = unix.Kill(sp.pid, unix.SIGKILL)
	}
	_, _ = sp.wait()
	sp.release()
	sp.conn.Close()
	sp.closePidfd()
}

// closePidfd closes the parent's pidfd of the init once nothing needs it; safe to repeat.
func (sp *spawned) closePidfd() {
	if sp.pidfd >= 0 {
		unix.Close(sp.pidfd)
		sp.pidfd = -1
	}
}

// reap waits for the container's first process, our child, to end (wait4: the thread that
// cloned it may be gone, but its children are the whole process's).
func (sp *spawned) reap() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(sp.pid, &ws, 0, nil)
		if err != unix.EINTR {
			return ws, err
		}
	}
}

// wait reaps the init and describes how it ended, as os.ProcessState does.
func (sp *spawned) wait() (string, error) {
	ws, err := sp.reap()
	if err != nil {
		return "", err
	}
	return describeWait(ws), nil
}

// describeWait words a wait status like os.ProcessState.String: "exit status 1", "signal: killed".
func describeWait(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return "exit status " + strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		s := "signal: " + ws.Signal().String()
		if ws.CoreDump() {
			s += " (core dumped)"
		}
		return s
	}
	return fmt.Sprintf("wait status %#x", uint32(ws))
}

// exitCode is the shell's view of how the process ended: its status, or 128 + the signal
// that killed it; 255 when waiting failed.
func exitCode(ws unix.WaitStatus, err error) int {
	switch {
	case err != nil:
		return 255
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// dialConsole connects to the --console-socket; the init sends the pty master through it.
func dialConsole(path string) (*os.File, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	defer c.Close()
	f, err := c.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("console socket: %w", err)
	}
	return f, nil
}
