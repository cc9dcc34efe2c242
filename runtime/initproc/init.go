package initproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	goruntime "runtime"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups/v1thread"
	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/rootfs"
)

// Main is the container side: `hull init` (or the lean hull-init), born by create's clone inside
// the new namespaces.
// It never returns on success: it becomes the stub. It reports failures to the parent, which
// prints them; the exit code only matters when the parent is already gone.
func Main() int {
	// Every namespace-sensitive call below must come from one thread, and the final execveat too.
	goruntime.LockOSThread()
	// If hull dies mid-create, the half-made init goes too (spawn says why this is not done by
	// the clone). Dying before this line closes the sync socket, which the bootstrap read sees.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "hull init: set parent-death signal:", err)
		return 1
	}
	f := os.NewFile(3, "sync")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hull init: sync socket:", err)
		return 1
	}
	ch := NewChannel(conn)
	var b Bootstrap
	if err := ch.RecvBootstrap(&b); err != nil {
		fmt.Fprintln(os.Stderr, "hull init: read bootstrap:", err)
		return 1
	}
	in := &initProc{b: b, ch: ch, conn: conn, rec: remoteRecorder{ch: ch, enabled: b.Debug}}
	err = in.run()
	_ = ch.Send(Message{Type: MsgError, Error: err.Error()})
	return 1
}

type initProc struct {
	b        Bootstrap
	ch       *Channel
	conn     net.Conn
	rec      remoteRecorder
	isPlaced bool
}

// placed waits until the parent has moved us into our cgroups (it does so while we set up), then
// unshares the cgroup namespace if one is asked for, so that it is rooted at the container's own
// cgroup. rootfs calls it before the first cgroup mount; later steps call it again to be sure.
func (in *initProc) placed() error {
	if in.isPlaced {
		return nil
	}
	var m Message
	if err := in.ch.Recv(&m); err != nil {
		return fmt.Errorf("wait for cgroup placement: %w", err)
	}
	switch m.Type {
	case MsgPlaced:
	case MsgError:
		return errors.New(m.Error)
	default:
		return fmt.Errorf("unexpected message %q while waiting for cgroup placement", m.Type)
	}
	in.isPlaced = true
	if namespaces.IsNew(in.b.Spec.Linux.Namespaces, specs.CgroupNamespace) {
		if err := in.rec.step("unshare", "CLONE_NEWCGROUP", func() error { return unix.Unshare(unix.CLONE_NEWCGROUP) }); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	return nil
}

// detach tells the parent the container is created and lets it go: "ready", then the sync
// socket's EOF, which is what create waits for. An init about to execve the stub leaves the
// socket to close at the execve (close-on-exec), so that create cannot return while the init
// still runs hull's binary (CVE-2019-5736); if the execve fails, its error still reaches the
// parent. An init that stays (stays) closes it now. Only an error may be sent after it.
func (in *initProc) detach(stays bool) error {
	// The init must outlive create's thread; PR_SET_PDEATHSIG guarded only the setup.
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear parent-death signal: %w", err)
	}
	if err := in.ch.Send(Message{Type: MsgReady}); err != nil {
		return err
	}
	in.rec.enabled = false
	if !stays {
		return nil
	}
	return in.conn.Close()
}

func (in *initProc) run() error {
	// No fd of the host may reach the container (CVE-2024-21626): everything above stdio is
	// closed at exec, and the fds hull itself passes on are opened after this.
	if err := closeExecFrom(3); err != nil {
		return err
	}
	// Into the container's v1 cgroups, this locked thread alone: everything the container
	// runs descends from it (see cgroups.ThreadJoiner).
	if err := v1thread.Join(in.b.CgroupDirs, in.rec); err != nil {
		return err
	}
	root, err := in.rootSetup()
	if err != nil {
		return err
	}
	if err := root.mount(); err != nil {
		return err
	}
	if err := in.setHostname(); err != nil {
		return err
	}
	// The fifo lives on the host: take hold of it before pivot_root hides the host.
	fifo, err := in.openFifo()
	if err != nil {
		return err
	}
	if err := in.hooksAtCreate(); err != nil {
		return err
	}
	if err := root.enter(); err != nil {
		return err
	}
	if err := in.sysctls(); err != nil {
		return err
	}
	if err := in.makeCwd(); err != nil {
		return err
	}
	if err := root.finish(); err != nil {
		return err
	}
	if in.b.Spec.Process == nil {
		// Allowed at create; `start` refuses it. Wait here until deleted.
		return in.waitForever(fifo)
	}
	return in.execProcess(fifo)
}

// rootSetup is how the init builds and enters the container's root filesystem.
type rootSetup interface {
	mount() error  // before the create-time hooks
	enter() error  // pivot_root (or its fallback) or chroot
	finish() error // after sysctls: masked and read-only paths, read-only root
}

// rootSetup picks the mount plan and pivot_root when the container has a mount namespace, and
// chroot alone when it shares the host's.
func (in *initProc) rootSetup() (rootSetup, error) {
	l := in.b.Spec.Linux
	if !namespaces.Has(l.Namespaces, specs.MountNamespace) {
		return chrootRoot{in}, nil
	}
	plan, err := rootfs.NewPlan(in.b.Spec, in.b.Rootfs, rootfs.Options{BeforeCgroup: in.placed, NoPivot: in.b.NoPivot, InUserNS: in.b.InUserNS,
		// In its own cgroup namespace (made above, or joined), the init sees its cgroup as "/":
		// cgroup v1 hierarchies must be mounted fresh, not bound from the host's root.
		CgroupNS: namespaces.Has(l.Namespaces, specs.CgroupNamespace)})
	if err != nil {
		return nil, fmt.Errorf("rootfs: %w", err)
	}
	return planRoot{plan: plan, rec: in.rec}, nil
}

// planRoot is the usual case: rootfs's mount plan and pivot_root, in our own mount namespace.
type planRoot struct {
	plan *rootfs.Plan
	rec  remoteRecorder
}

func (p planRoot) mount() error  { return wrapRootfs(p.plan.Mount(p.rec)) }
func (p planRoot) enter() error  { return wrapRootfs(p.plan.Pivot(p.rec)) }
func (p planRoot) finish() error { return wrapRootfs(p.plan.Finish(p.rec)) }

func wrapRootfs(err error) error {
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return nil
}

// makeCwd creates process.cwd if the image lacks it, as runc does. After pivot_root (or chroot)
// every path, symlinks included, resolves inside the container's root, so MkdirAll is safe; it
// runs before a read-only root is remounted.
func (in *initProc) makeCwd() error {
	p := in.b.Spec.Process
	if p == nil {
		return nil
	}
	if _, err := os.Stat(p.Cwd); err == nil {
		return nil
	}
	if err := in.rec.step("mkdir", "-p "+p.Cwd, func() error { return os.MkdirAll(p.Cwd, 0o755) }); err != nil {
		return fmt.Errorf("create cwd %q set in config.json: %w", p.Cwd, err)
	}
	return nil
}

// chrootRoot serves a spec that shares the host's mount namespace: mounting there
// changes the host, and pivot_root would move the host's root, so the rootfs is entered with
// chroot(2), and of the spec's mounts only /proc is made (mountProcShared says why). runc makes
// them all in the host's mount table and never removes them.
type chrootRoot struct{ in *initProc }

func (c chrootRoot) mount() error {
	if err := c.in.placed(); err != nil {
		return err
	}
	return c.in.mountProcShared()
}

func (c chrootRoot) enter() error {
	b := c.in.b
	if err := c.in.rec.step("chroot", b.Rootfs, func() error { return unix.Chroot(b.Rootfs) }); err != nil {
		return fmt.Errorf("chroot %s: %w", b.Rootfs, err)
	}
	return nil
}

func (c chrootRoot) finish() error { return nil }

// hooksAtCreate asks the parent to run prestart/createRuntime hooks (in the runtime namespace),
// then runs createContainer hooks here, in the container's namespaces, before pivot_root.
func (in *initProc) hooksAtCreate() error {
	if err := in.placed(); err != nil { // hooks and everything after run inside the cgroups
		return err
	}
	h := in.b.Spec.Hooks
	if h == nil {
		return nil
	}
	//nolint:staticcheck // Prestart is deprecated but Docker relies on it.
	if len(h.Prestart)+len(h.CreateRuntime) > 0 {
		if err := in.ch.Send(Message{Type: MsgHooks}); err != nil {
			return err
		}
		var m Message
		if err := in.ch.Recv(&m); err != nil {
			return fmt.Errorf("wait for hooks: %w", err)
		}
		if m.Type != MsgHooksDone {
			return fmt.Errorf("unexpected message %q while waiting for hooks", m.Type)
		}
	}
	// Step 5 of the lifecycle: "created", like prestart and createRuntime (see converse).
	return RunHooks(context.Background(), in.rec.step, "createContainer", h.CreateContainer, in.state(specs.StateCreated))
}

// state is the container's state as hooks read it on stdin (runtime.State.OCIState in the parent).
func (in *initProc) state(st specs.ContainerState) specs.State {
	return specs.State{Version: specs.Version, ID: in.b.ID, Status: st, Pid: in.b.Pid, Bundle: in.b.Bundle,
		Annotations: in.b.Spec.Annotations}
}

func (in *initProc) setHostname() error { return SetHostname(in.b.Spec, in.rec.step) }

// SetHostname sets the spec's hostname and domainname in the caller's uts namespace.
func SetHostname(s *specs.Spec, step func(op, args string, fn func() error) error) error {
	if s.Hostname != "" {
		if err := step("sethostname", s.Hostname, func() error { return unix.Sethostname([]byte(s.Hostname)) }); err != nil {
			return fmt.Errorf("set hostname: %w", err)
		}
	}
	if s.Domainname != "" {
		if err := step("setdomainname", s.Domainname, func() error { return unix.Setdomainname([]byte(s.Domainname)) }); err != nil {
			return fmt.Errorf("set domainname: %w", err)
		}
	}
	return nil
}

// openFifo opens the exec fifo with O_PATH: it holds the inode without opening the pipe, which
// would block. The stub reopens it for writing through /proc/self/fd when it is time to wait.
func (in *initProc) openFifo() (int, error) {
	var fd int
	err := in.rec.step("open", in.b.Fifo+" O_PATH", func() (err error) {
		fd, err = unix.Open(in.b.Fifo, unix.O_PATH|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("open exec fifo: %w", err)
	}
	return fd, nil
}

// sysctls writes linux.sysctl under the container's own /proc/sys, after pivot_root and before
// readonlyPaths may make /proc/sys read-only.
func (in *initProc) sysctls() error {
	return WriteSysctls("/proc", in.b.Spec.Linux.Sysctl, in.rec.step)
}

// WriteSysctls writes each sysctl under proc/sys (proc: the container's procfs, as the caller
// sees it). Network, IPC and UTS keys act on the caller's namespaces of those kinds.
func WriteSysctls(proc string, sysctl map[string]string, step func(op, args string, fn func() error) error) error {
	for k, v := range sysctl {
		if strings.Contains(k, "..") || strings.ContainsAny(k, "\x00") {
			return fmt.Errorf("invalid sysctl %q", k)
		}
		path := proc + "/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := step("write", fmt.Sprintf("%s > %s", v, path), func() error {
			return os.WriteFile(path, []byte(v), 0)
		}); err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	return nil
}

// waitForever is the init of a container without a process: it blocks on the fifo like the stub
// would, and `start` refuses to open it.
func (in *initProc) waitForever(fifo int) error {
	if err := in.detach(true); err != nil {
		return err
	}
	for {
		unix.Pause() // a blocking syscall, not a Go-level block: until delete kills us
	}
}

// closeExecFrom marks every fd ≥ from close-on-exec.
func closeExecFrom(from int) error {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range ents {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err == nil && fd >= from {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}
