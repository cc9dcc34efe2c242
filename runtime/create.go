package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/initproc"
)

// CreateOptions are create's flags (runc's names).
type CreateOptions struct {
	ID            string
	Bundle        string
	PidFile       string
	ConsoleSocket string
	NoPivot       bool
	Network       string // hull's own: overrides the org.hullrt.network annotation
	Publish       string // hull's own: overrides the org.hullrt.publish annotation
	// Stdio, when set, are the init's stdin, stdout and stderr (nil entries: the caller's own).
	// An in-process caller such as the supervisor gives each container its own log file here.
	Stdio [3]*os.File

	console *os.File // run's own end for the pty master, when no --console-socket is given
}

// Create makes a container and leaves it in "created": its init has set everything up and waits,
// as the stub, for `start`. It returns only then, after writing the pid file. On any failure it
// undoes everything it did: no state dir, cgroup or process is left behind.
func (r *Runtime) Create(ctx context.Context, o CreateOptions) (err error) {
	c, err := r.create(ctx, o)
	if err != nil {
		return err
	}
	c.release()
	c.sp.conn.Close()
	c.sp.closePidfd() // a long-lived caller (the supervisor) would leak one fd per container
	return nil
}

// creation is a container being made; release lets its spawner thread go once the init no
// longer needs it (see spawn).
type creation struct {
	state   *State
	release func()
	sp      *spawned
	cg      cgroups.Manager
}

func (r *Runtime) create(ctx context.Context, o CreateOptions) (c *creation, err error) {
	if err := checkID(o.ID); err != nil {
		return nil, err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle: %w", err)
	}
	spec, err := loadSpec(bundle)
	if err != nil {
		return nil, err
	}
	rootfs, err := rootfsPath(bundle, spec)
	if err != nil {
		return nil, err
	}
	ports, err := checkNetwork(spec, o)
	if err != nil {
		return nil, err
	}
	lsm, err := initproc.LSMFor(spec.Process)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(r.Root, 0o711); err != nil {
		return nil, fmt.Errorf("state root: %w", err)
	}
	if err := os.Mkdir(r.dir(o.ID), 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container with id exists: %s", o.ID)
		}
		return nil, fmt.Errorf("state dir: %w", err)
	}
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	undo = append(undo, func() { os.RemoveAll(r.dir(o.ID)) })

	st := &State{ID: o.ID, Bundle: bundle, Rootfs: rootfs, Spec: spec, Created: time.Now().UTC()}
	if err := r.prepareNetworkFiles(st); err != nil {
		return nil, err
	}
	if err := r.makeFifo(st); err != nil {
		return nil, err
	}
	st.CgroupPath = cgroupPath(o.ID, spec)
	var cg cgroups.Manager
	newCgroup := func() (err error) {
		if cg, err = cgroups.New(st.CgroupPath, deviceResources(spec.Linux), r); err != nil {
			return fmt.Errorf("cgroup %s: %w", st.CgroupPath, err)
		}
		st.CgroupCreated = cg.Created()
		return nil
	}
	// On a pure v1 host, where the init moves itself into its cgroups (selfJoins), the cgroup is
	// made while the init starts (≈1.3 ms of mkdirs and writes against ≈2 ms of Go start-up):
	// the init needs it only once the bootstrap, which names it, arrives. Elsewhere the init is
	// born in it (CLONE_INTO_CGROUP), so it comes first.
	direct := directOK(spec, o, directKernel)
	early := !direct && cgroups.Mode() == "v1" && selfJoins(spec.Linux)
	if !early {
		if err := newCgroup(); err != nil {
			return nil, err
		}
	}
	undo = append(undo, func() {
		if cg != nil {
			_ = cg.Delete()
		}
	})
	undo = append(undo, func() { _ = r.unmountProcShared(spec, rootfs) }) // only without a mount namespace
	if direct {
		var hooks func(pid int) error
		//nolint:staticcheck // Prestart is deprecated but Docker's networking depends on it.
		if h := spec.Hooks; h != nil && len(h.Prestart)+len(h.CreateRuntime) > 0 {
			hooks = func(pid int) error {
				st.Pid = pid
				return r.hooksAtCreate(ctx, st)
			}
		}
		sp, err := r.spawnDirect(spec, rootfs, o, cg, r.fifo(o.ID), lsm, hooks)
		if sp != nil {
			undo = append(undo, sp.kill)
		}
		if err != nil {
			return nil, err
		}
		st.Pid = sp.pid
		if err := r.created(ctx, st, sp, ports, o.PidFile, false, &undo); err != nil {
			return nil, err
		}
		return &creation{state: st, release: sp.release, sp: sp, cg: cg}, nil
	}
	sp, err := r.spawn(ctx, spec, o, cg)
	if err != nil {
		return nil, err
	}
	undo = append(undo, sp.kill)
	if early {
		if err := newCgroup(); err != nil {
			return nil, err
		}
		if tj, ok := cg.(cgroups.ThreadJoiner); ok {
			sp.joinDirs = tj.ThreadDirs()
			sp.bornInside = len(sp.joinDirs) > 0
		}
	}
	st.Pid = sp.pid
	if err := r.fifoToJoinedRoot(st); err != nil {
		return nil, err
	}
	b := initproc.Bootstrap{ID: o.ID, Bundle: bundle, Rootfs: rootfs, Pid: sp.pid, Spec: spec, NoPivot: o.NoPivot,
		Debug: r.narrating(ctx), Fifo: r.fifo(o.ID), Console: o.ConsoleSocket != "" || o.console != nil,
		InUserNS: namespaces.Has(spec.Linux.Namespaces, specs.UserNamespace), CgroupDirs: sp.joinDirs, LSM: lsm}
	saved := false
	// Without a network to attach, the state is complete once the init says "ready" (set up,
	// about to exec the stub): it is written while that exec runs (≈0.25 ms of wall time per
	// container), not after. A failure from here on still removes it with the state dir.
	var onReady func() error
	if spec.Annotations[NetworkAnnotation] == "" {
		onReady = func() error {
			saved = true
			return r.saveCreated(st, sp)
		}
	}
	if err := r.converse(ctx, sp, b, st, cg, onReady); err != nil {
		return nil, err
	}
	if err := r.created(ctx, st, sp, ports, o.PidFile, saved, &undo); err != nil {
		return nil, err
	}
	return &creation{state: st, release: sp.release, sp: sp, cg: cg}, nil
}

// created completes a container whose process waits for start: its network, its state file
// (unless saved already) and the pid file.
func (r *Runtime) created(ctx context.Context, st *State, sp *spawned, ports publishedPorts, pidFile string, saved bool, undo *[]func()) error {
	if !saved {
		// The stub is waiting now: the user's process cannot have run, so eth0 is there before
		// it. (attachNetwork saves the state as it goes, for a crash to leave it collectable.)
		if err := r.recordStart(st, sp); err != nil {
			return err
		}
		detach, err := r.attachNetwork(ctx, st, ports)
		if err != nil {
			return err
		}
		*undo = append(*undo, detach)
		if err := r.saveCreated(st, sp); err != nil {
			return err
		}
	}
	if pidFile != "" {
		if err := writePidFile(pidFile, sp.pid); err != nil {
			return err
		}
	}
	return nil
}

// recordStart notes the container process's start time, which tells it from a later process
// with the same pid.
func (r *Runtime) recordStart(st *State, sp *spawned) error {
	start, _, err := procStart(sp.pid)
	if err != nil {
		return fmt.Errorf("container init exited during create: %w", err)
	}
	st.PidStart = start
	return nil
}

// saveCreated writes the state of a container now "created".
func (r *Runtime) saveCreated(st *State, sp *spawned) error {
	if st.PidStart == 0 {
		if err := r.recordStart(st, sp); err != nil {
			return err
		}
	}
	mustMove(Creating, Created)
	return r.save(st)
}

// makeFifo creates the exec fifo that separates "created" from "running". Its owner is the
// container's root, because the stub opens it for writing after entering a user namespace.
func (r *Runtime) makeFifo(st *State) error {
	path := r.fifo(st.ID)
	if err := r.step("mkfifo", path, func() error { return unix.Mkfifo(path, 0o622) }); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	uid, gid := hostRoot(st.Spec.Linux)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	return nil
}

// hostRoot is the host uid/gid that the container's uid/gid 0 maps to.
func hostRoot(l *specs.Linux) (int, int) {
	uid, gid := 0, 0
	for _, m := range l.UIDMappings {
		if m.ContainerID == 0 {
			uid = int(m.HostID)
		}
	}
	for _, m := range l.GIDMappings {
		if m.ContainerID == 0 {
			gid = int(m.HostID)
		}
	}
	return uid, gid
}

// cgroupPath is linux.cgroupsPath as given when absolute; relative paths are placed under
// /hull, and an empty one becomes /hull/<id>. Never relative to our own cgroup: the caller's
// cgroup may belong to someone else.
func cgroupPath(id string, s *specs.Spec) string {
	p := s.Linux.CgroupsPath
	switch {
	case p == "":
		return "/hull/" + id
	case filepath.IsAbs(p):
		return filepath.Clean(p)
	default:
		// Clean as if absolute first, so "../" can never climb out of /hull.
		return filepath.Join("/hull", filepath.Clean("/"+p))
	}
}

// converse runs the parent's half of the protocol drawn in doc.go.
//
// The bootstrap goes out first and the init starts its setup at once, while a goroutine moves it
// into its cgroups: on cgroup v1 the first cgroup.procs write on an idle kernel rwsem waits out
// an RCU grace period (5-14 ms on this machine), which this overlaps with the init's own start
// and mounts. The init waits for "placed" before anything that needs it (rootfs.BeforeCgroup).
// onReady, if not nil, runs when the init says "ready", while it executes the stub.
func (r *Runtime) converse(ctx context.Context, sp *spawned, b initproc.Bootstrap, st *State, cg cgroups.Manager, onReady func() error) (err error) {
	ch := initproc.NewChannel(sp.conn)
	if err := ch.SendBootstrap(b); err != nil {
		return r.initFailure(sp, err)
	}
	placed := make(chan error, 1)
	go func() { placed <- r.place(ch, cg, sp, st.Spec.Process) }()
	defer func() {
		// The placement goroutine is ours to wait for. When the init failed, telling it "placed"
		// fails too (broken pipe): the init's own error is the one to report.
		if perr := <-placed; err == nil && perr != nil {
			err = perr
		}
	}()
	ready := false
	for {
		var m initproc.Message
		err := ch.Recv(&m)
		if err == io.EOF {
			if ready {
				return nil
			}
			return r.initFailure(sp, errors.New("container init exited during setup"))
		}
		if errors.Is(err, syscall.ECONNRESET) {
			// The init closed the socket (its execve of the stub) with bytes of ours unread: after
			// "ready" that is the same end as EOF; before it, the init died and its status says why.
			if ready {
				return nil
			}
			return r.initFailure(sp, fmt.Errorf("container init exited during setup: %w", err))
		}
		if err != nil {
			return fmt.Errorf("read from init: %w", err)
		}
		switch m.Type {
		case initproc.MsgStep:
			r.relay(m)
		case initproc.MsgHooks:
			st.Pid = sp.pid
			if err := r.hooksAtCreate(ctx, st); err != nil {
				return err
			}
			if err := ch.Send(initproc.Message{Type: initproc.MsgHooksDone}); err != nil {
				return err
			}
		case initproc.MsgReady:
			ready = true
			if onReady != nil {
				if err := onReady(); err != nil {
					return err
				}
			}
		case initproc.MsgError:
			return errors.New(m.Error)
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// hooksAtCreate runs the prestart, then the createRuntime hooks, in hull's namespaces, with the
// container's state (its pid set) on their stdin.
func (r *Runtime) hooksAtCreate(ctx context.Context, st *State) error {
	hooks := st.Spec.Hooks
	// Status "created": these hooks are steps 3 and 4 of the lifecycle, and the spec defines
	// "created" as "after step 2" ("creating" is step 2). crun passes the same; runc passes
	// "creating".
	state := st.OCIState(Created)
	//nolint:staticcheck // Prestart is deprecated but Docker's networking depends on it.
	if err := initproc.RunHooks(ctx, r.step, "prestart", hooks.Prestart, state); err != nil {
		return err
	}
	return initproc.RunHooks(ctx, r.step, "createRuntime", hooks.CreateRuntime, state)
}

// place moves the init into its cgroups and sets its OOM score, then tells it so; on failure the
// init is told the reason and gives up.
func (r *Runtime) place(ch *initproc.Channel, cg cgroups.Manager, sp *spawned, p *specs.Process) error {
	pid := sp.pid
	var err error
	if !sp.bornInside {
		err = r.step("cgroup.apply", fmt.Sprintf("pid %d → %s", pid, cg.Path()), func() error { return cg.Apply(pid) })
		if err != nil {
			err = fmt.Errorf("cgroup %s: add pid %d: %w", cg.Path(), pid, err)
		}
	}
	if err == nil && p != nil && p.OOMScoreAdj != nil {
		adj := strconv.Itoa(*p.OOMScoreAdj)
		err = r.step("write", fmt.Sprintf("%s > /proc/%d/oom_score_adj", adj, pid), func() error {
			return os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(adj), 0)
		})
		if err != nil {
			err = fmt.Errorf("set oom_score_adj: %w", err)
		}
	}
	if err != nil {
		_ = ch.Send(initproc.Message{Type: initproc.MsgError, Error: err.Error()})
		return err
	}
	return ch.Send(initproc.Message{Type: initproc.MsgPlaced})
}

// initFailure explains an init that went away: its exit status says more than a broken pipe.
func (r *Runtime) initFailure(sp *spawned, err error) error {
	if ws, werr := sp.wait(); werr == nil {
		return fmt.Errorf("%w (%s)", err, ws)
	}
	return err
}

func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return writeFileAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}
