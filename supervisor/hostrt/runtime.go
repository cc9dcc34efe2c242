package hostrt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/cgroups"
	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/supervisor"
)

// DefaultBundleDir holds each replica's config.json (outside the runtime's root, whose every
// directory is a container); cmd/hull puts it beside the root: /run/hull → /run/hull-bundles.
const DefaultBundleDir = "/run/hull-bundles"

// Runtime is supervisor.Runtime over hull's runtime package.
type Runtime struct {
	RT        *runtime.Runtime
	BundleDir string
}

var _ supervisor.Runtime = (*Runtime)(nil)

func (h *Runtime) bundle(id string) string {
	d := h.BundleDir
	if d == "" {
		d = DefaultBundleDir
	}
	return filepath.Join(d, id)
}

// Create writes the bundle and creates the container, its stdout and stderr on log, stdin /dev/null.
func (h *Runtime) Create(ctx context.Context, id string, spec *specs.Spec, log *os.File) (supervisor.Observed, error) {
	dir := h.bundle(id)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return supervisor.Observed{}, fmt.Errorf("bundle: %w", err)
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return supervisor.Observed{}, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600); err != nil {
		return supervisor.Observed{}, fmt.Errorf("bundle: %w", err)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		return supervisor.Observed{}, err
	}
	defer null.Close()
	if err := h.RT.Create(ctx, runtime.CreateOptions{ID: id, Bundle: dir, Stdio: [3]*os.File{null, log, log}}); err != nil {
		os.RemoveAll(dir)
		return supervisor.Observed{}, err
	}
	// "created": the stub waits for start and cannot have exited, so its pid is valid here.
	c, err := h.RT.State(id)
	if err != nil {
		return supervisor.Observed{}, err
	}
	return observed(c), nil
}

func observed(c *runtime.Container) supervisor.Observed {
	addr := c.Address
	if p, err := netip.ParsePrefix(addr); err == nil {
		addr = p.Addr().String() // the runtime keeps the address with its prefix length
	}
	return supervisor.Observed{ID: c.ID, Status: string(c.Status), Pid: c.Pid, Address: addr, Annotations: c.Annotations}
}

func (h *Runtime) Start(ctx context.Context, id string) error { return h.RT.Start(ctx, id) }

func (h *Runtime) Kill(id string, sig syscall.Signal) error {
	err := h.RT.Kill(id, sig, false)
	var nr runtime.NotRunningError
	if errors.As(err, &nr) {
		return nil
	}
	return err
}

// Delete removes the container (killing it first) and its bundle; an unknown id is not an error.
// A container half-made by a daemon killed during create has a state dir but no state file, and
// the runtime removes only the dir: its (empty) cgroup, /hull/<id> as BuildSpec names it, goes here.
func (h *Runtime) Delete(ctx context.Context, id string) error {
	_, serr := h.RT.State(id)
	if err := h.RT.Delete(ctx, id, true); err != nil && !errors.Is(err, runtime.ErrNotExist) {
		return err
	}
	if errors.Is(serr, runtime.ErrNotExist) {
		h.sweep(ctx, id)
	}
	return os.RemoveAll(h.bundle(id))
}

// sweep removes what a create interrupted by the daemon's death left outside the runtime's
// reach (it had no state file yet): processes in the container's cgroup, the cgroup, and its
// network lease and veth.
func (h *Runtime) sweep(ctx context.Context, id string) {
	path := "/hull/" + id
	if cg, err := cgroups.Load(path, nil, h.RT); err == nil {
		if procs, _ := cg.Procs(); len(procs) > 0 {
			_ = cg.Kill(unix.SIGKILL)
		}
		for i := 0; i < 100; i++ {
			if procs, _ := cg.Procs(); len(procs) == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	cgroups.RemoveIfEmpty(path, h.RT)
	if st, err := h.RT.Networks(); err == nil {
		// Alive: any container with a state dir (<root>/<id>), even one being created right
		// now by a concurrent start, which has no state file yet.
		_ = st.Reconcile(ctx, func(cid string) bool {
			_, err := os.Stat(filepath.Join(h.RT.Root, cid))
			return err == nil
		})
		st.Close()
	}
}

func (h *Runtime) List(ctx context.Context) ([]supervisor.Observed, error) {
	cs, err := h.RT.List()
	if err != nil {
		return nil, err
	}
	out := make([]supervisor.Observed, 0, len(cs))
	for _, c := range cs {
		out = append(out, observed(c))
	}
	return out, nil
}

// Wait follows the init's pidfd until it ends, then reaps it if it is our child.
func (h *Runtime) Wait(ctx context.Context, id string, pid int) (supervisor.Exit, error) {
	if pid > 0 {
		if err := waitPidfd(ctx, id, pid, h.RT); err != nil {
			return supervisor.Exit{}, err
		}
	}
	exit := supervisor.Exit{At: time.Now()}
	if pid > 0 {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil)
		switch {
		case err == nil && wpid == pid:
			exit.Known = true
			if ws.Signaled() {
				exit.Signal = unix.SignalName(ws.Signal())
			} else {
				exit.Code = ws.ExitStatus()
			}
		case errors.Is(err, unix.ECHILD):
			exit.Reason = "exit status unknown: it ended while an earlier daemon was its parent"
		}
	} else {
		exit.Reason = "exit status unknown: it ended while no daemon was running"
	}
	if u, err := h.RT.Usage(id); err == nil && u.Memory.OOMKills > 0 {
		exit.OOMKilled, exit.PeakMemory, exit.MemoryLimit = true, u.Memory.Usage.Max, u.Memory.Usage.Limit
	}
	return exit, nil
}

// waitPidfd blocks until pid ends, without a thread: the pidfd is non-blocking, so Go's netpoller
// (epoll) waits on it with every other replica's.
func waitPidfd(ctx context.Context, id string, pid int, rt *runtime.Runtime) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil // gone already (and reaped: not ours)
	}
	if err != nil {
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	// The pid may have been reused between the runtime's look and pidfd_open: check that it is
	// still the container's init now that the pidfd pins it.
	if c, err := rt.State(id); err != nil || c.Pid != pid {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err = rc.Read(func(fd uintptr) bool {
		n, _ := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 0)
		return n > 0
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Exec runs argv inside the container; output goes through a pipe (the check is short-lived and
// ours), of which the first 4 KiB are kept, as Docker keeps a health check's output.
func (h *Runtime) Exec(ctx context.Context, id string, argv []string) (int, string, error) {
	p, err := h.RT.ExecProcess(id)
	if err != nil {
		return 0, "", err
	}
	p.Args = argv
	r, w, err := os.Pipe()
	if err != nil {
		return 0, "", err
	}
	defer r.Close()
	out := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		n, _ := readFull(r, buf)
		out <- string(buf[:n])
	}()
	null, err := os.Open(os.DevNull)
	if err != nil {
		w.Close()
		return 0, "", err
	}
	code, err := h.RT.Exec(ctx, runtime.ExecOptions{ID: id, Process: p, Stdio: [3]*os.File{null, w, w}, KeepSignals: true})
	null.Close()
	w.Close()
	return code, <-out, err
}

// readFull reads until buf is full or EOF, then drains the rest so the writer never blocks.
func readFull(r *os.File, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	var sink [512]byte
	for {
		if _, err := r.Read(sink[:]); err != nil {
			return n, nil
		}
	}
}

var _ supervisor.Meter = (*Runtime)(nil)

// CPUTime is the container's cgroup CPU counter (cpuacct.usage on v1, usage_usec on v2).
func (h *Runtime) CPUTime(id string) (time.Duration, error) {
	u, err := h.RT.Usage(id)
	if err != nil {
		return 0, err
	}
	return time.Duration(u.CPU.Usage.Total), nil
}
