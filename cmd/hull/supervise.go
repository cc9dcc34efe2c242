//go:build !hulllean

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/sysmon"
	"github.com/hullrt/hull/supervisor"
	"github.com/hullrt/hull/supervisor/hostrt"
)

// newSupervisor wires the supervisor to this host's real runtime, images, networks and store.
func newSupervisor(e *env) (*supervisor.Supervisor, io.Closer, error) {
	e.rt.OneShot = false // a long-lived process: its execs retire threads (runtime.Runtime)
	images, err := e.images()
	if err != nil {
		return nil, nil, err
	}
	st, err := supervisor.OpenBolt(filepath.Join(e.g.dataDir, "state.db"))
	if err != nil {
		return nil, nil, err
	}
	sup := supervisor.New(supervisor.Config{
		Runtime:  &hostrt.Runtime{RT: e.rt, BundleDir: filepath.Join(filepath.Dir(filepath.Clean(e.rt.Root)), "hull-bundles")},
		Images:   hostrt.StoreImages{Store: images, Local: hostrt.LocalImages{Dir: filepath.Join(e.g.dataDir, "containers")}},
		Balancer: hostrt.Balancer{RT: e.rt},
		Hosts:    hostrt.Hosts{RT: e.rt},
		Networks: hostrt.Networks{RT: e.rt},
		Store:    st,
		Log:      e.rt.Log,
		BaseSpec: func() *specs.Spec { return runtime.DefaultSpec(false) },
		LogDir:   filepath.Join(e.g.dataDir, "logs"),
	})
	return sup, st, nil
}

// serve runs the supervisor and its API until ctx ends; the replicas keep running after.
func serve(ctx context.Context, e *env, sup *supervisor.Supervisor, ready func()) error {
	l, err := supervisor.Listen(e.g.socket)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sup.Handler()}
	errc := make(chan error, 2)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { errc <- sup.Run(runCtx) }()
	go func() {
		if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	if ready != nil {
		ready()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	stop()
	os.Remove(e.g.socket)
	return runErr
}

// cmdDaemon is `hull daemon`: the supervisor behind its API socket. SIGTERM or SIGINT stops
// the daemon, never the replicas.
func cmdDaemon(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "daemon")
	if err := parse(fs, args, 0, 0, ""); err != nil {
		return 0, err
	}
	sup, st, err := newSupervisor(e)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return 0, serve(ctx, e, sup, func() { e.rt.Log.Info("listening", "socket", e.g.socket) })
}

// loadProject reads the compose file and prints its warnings; errors change nothing.
func loadProject(ctx context.Context, e *env, file, name string) (*supervisor.Project, error) {
	p, warns, err := supervisor.Load(ctx, supervisor.LoadOptions{File: file, ProjectName: name,
		VolumesDir: filepath.Join(e.g.dataDir, "volumes")})
	for _, w := range warns {
		fmt.Fprintln(e.stderr, "hull: warning:", w)
	}
	return p, err
}

func composeFlags(e *env, name string) (*flag.FlagSet, *string, *string) {
	fs := flags(e, name)
	file := fs.String("f", "compose.yaml", "compose file")
	project := fs.String("p", "", "project name (default: the file's name: key, else its directory)")
	return fs, file, project
}

// cmdUp is `hull up`: apply the file to the daemon; without one, be the daemon in the
// foreground (logs streamed, Ctrl-C takes the stack down gracefully), or with -d start one.
func cmdUp(ctx context.Context, e *env, args []string) (int, error) {
	fs, file, name := composeFlags(e, "up")
	detach := fs.Bool("d", false, "leave the stack running in a background daemon")
	if err := parse(fs, args, 0, 0, "[-f compose.yaml] [-p project] [-d]"); err != nil {
		return 0, err
	}
	p, err := loadProject(ctx, e, *file, *name)
	if err != nil {
		return 0, err
	}
	c := supervisor.NewClient(e.g.socket)
	err = c.Ping(ctx)
	switch {
	case err == nil:
	case !errors.Is(err, supervisor.ErrNoDaemon):
		return 0, err
	case *detach:
		if err := startDaemon(ctx, e); err != nil {
			return 0, err
		}
	default:
		return 0, upForeground(ctx, e, p)
	}
	if err := c.Apply(ctx, p); err != nil {
		return 0, err
	}
	if *detach {
		fmt.Fprintf(e.stdout, "%s: %d services applied\n", p.Name, len(p.Services))
		return 0, nil
	}
	// Attached to a running daemon: follow the logs; Ctrl-C takes the stack down.
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	_ = c.FollowProject(sctx, p.Name, e.stdout)
	fmt.Fprintf(e.stderr, "hull: stopping %s\n", p.Name)
	return 0, c.Down(context.WithoutCancel(ctx), p.Name)
}

func upForeground(ctx context.Context, e *env, p *supervisor.Project) error {
	sup, st, err := newSupervisor(e)
	if err != nil {
		return err
	}
	defer st.Close()
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	daemonCtx, stopDaemon := context.WithCancel(ctx)
	defer stopDaemon()
	served := make(chan error, 1)
	ready := make(chan struct{})
	go func() { served <- serve(daemonCtx, e, sup, func() { close(ready) }) }()
	select {
	case err := <-served:
		return err
	case <-ready:
	}
	if err := sup.Apply(ctx, p); err != nil {
		stopDaemon()
		<-served
		return err
	}
	// The logs stream until the stack is down, so the replicas' last words (what their
	// stop_signal handlers print) are shown too, as docker compose shows them.
	logCtx, stopLogs := context.WithCancel(ctx)
	downed := make(chan error, 1)
	go func() {
		<-sctx.Done()
		fmt.Fprintf(e.stderr, "hull: stopping %s\n", p.Name)
		downed <- sup.Down(context.WithoutCancel(ctx), p.Name)
		stopLogs()
	}()
	_ = sup.FollowProject(logCtx, p.Name, e.stdout)
	err = <-downed
	stopDaemon()
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}

// startDaemon starts `hull daemon` in the background, its own session, its output in
// <data-dir>/daemon.log, and waits until it answers.
func startDaemon(ctx context.Context, e *env) error {
	if err := os.MkdirAll(e.g.dataDir, 0o700); err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(e.g.dataDir, "daemon.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"--root", e.g.root, "--network-dir", e.g.networkDir, "--image-dir", e.g.imageDir, "--socket", e.g.socket, "--data-dir", e.g.dataDir}
	if e.g.debug {
		args = append(args, "--debug")
	}
	cmd := exec.Command("/proc/self/exe", append(args, "daemon")...)
	cmd.Args[0] = os.Args[0] // "hull daemon" in ps, not "/proc/self/exe daemon"
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := sysmon.WithHostSlack(cmd.Start); err != nil {
		return fmt.Errorf("start daemon: %w", err)
	}
	go func() { _ = cmd.Wait() }() // reaped if it dies while we wait for it
	c := supervisor.NewClient(e.g.socket)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c.Ping(ctx) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the daemon did not answer on %s (see %s)", e.g.socket, logf.Name())
}

// cmdDown is `hull down`: every replica of the project stopped gracefully and removed.
func cmdDown(ctx context.Context, e *env, args []string) (int, error) {
	fs, file, name := composeFlags(e, "down")
	if err := parse(fs, args, 0, 0, "[-f compose.yaml] [-p project]"); err != nil {
		return 0, err
	}
	project := *name
	if project == "" {
		p, err := loadProject(ctx, e, *file, "")
		if err != nil {
			return 0, err
		}
		project = p.Name
	}
	return 0, supervisor.NewClient(e.g.socket).Down(ctx, project)
}

// cmdService is `hull service ls|ps|logs|inspect|restart|scale|rollback|history`.
func cmdService(ctx context.Context, e *env, args []string) (int, error) {
	const use = "service: usage: hull service ls | ps SERVICE | logs [-f] SERVICE | inspect SERVICE | restart SERVICE | scale SERVICE=N... | rollback SERVICE | history SERVICE"
	if len(args) == 0 {
		return 0, usageError{use}
	}
	c := supervisor.NewClient(e.g.socket)
	sub, rest := args[0], args[1:]
	fs := flags(e, "service "+sub)
	format := fs.String("format", "table", "table or json")
	follow := fs.Bool("f", false, "follow (logs)")
	switch sub {
	case "ls", "list":
		if err := parse(fs, rest, 0, 0, "[--format table|json]"); err != nil {
			return 0, err
		}
		ss, err := c.Services(ctx)
		if err != nil {
			return 0, err
		}
		if *format == "json" {
			return 0, printJSON(e.stdout, ss)
		}
		w := tabwriter.NewWriter(e.stdout, 4, 1, 3, ' ', 0)
		fmt.Fprintln(w, "PROJECT\tSERVICE\tREPLICAS\tREADY\tIMAGE\tPORTS\tSTATUS")
		for _, s := range ss {
			status := "ok"
			if s.GaveUp != "" {
				status = "gave up: " + s.GaveUp
			} else if u := s.Update; u.Active() {
				status = u.State + " to " + u.Revision
			} else if s.Running < s.Desired {
				status = "converging"
			}
			fmt.Fprintf(w, "%s\t%s\t%d/%d\t%d\t%s\t%s\t%s\n", s.Project, s.Service, s.Running, s.Desired, s.Ready, s.Image, ports(s.Ports), status)
		}
		return 0, w.Flush()
	case "ps", "inspect":
		if err := parse(fs, rest, 1, 1, "[--format table|json] SERVICE"); err != nil {
			return 0, err
		}
		in, err := c.Inspect(ctx, fs.Arg(0))
		if err != nil {
			return 0, err
		}
		if sub == "inspect" || *format == "json" {
			if sub == "ps" {
				return 0, printJSON(e.stdout, in.Replicas)
			}
			return 0, printJSON(e.stdout, in)
		}
		if in.GaveUp != "" {
			fmt.Fprintf(e.stdout, "%s gave up: %s (hull service restart %s)\n", in.Service, in.GaveUp, in.Service)
		}
		if u := in.Update; u != nil {
			fmt.Fprintf(e.stdout, "update %s → %s: %s", u.From, u.Revision, u.State)
			if u.Reason != "" {
				fmt.Fprintf(e.stdout, " (%s)", u.Reason)
			}
			fmt.Fprintln(e.stdout)
		}
		w := tabwriter.NewWriter(e.stdout, 4, 1, 3, ' ', 0)
		fmt.Fprintln(w, "NAME\tID\tREVISION\tSTATE\tHEALTH\tPID\tADDRESS\tUPTIME\tRESTARTS\tLAST EXIT")
		now := time.Now()
		for _, r := range in.Replicas {
			up, last := "-", "-"
			if !r.Started.IsZero() && r.State == "running" {
				up = now.Sub(r.Started).Round(time.Second).String()
			}
			if r.LastExit != nil {
				last = r.LastExit.String()
			}
			state := r.State
			if r.Reason != "" {
				state += ": " + r.Reason
			}
			if !r.NextStart.IsZero() && r.NextStart.After(now) {
				state += " (" + r.NextStart.Sub(now).Round(time.Millisecond).String() + ")"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\n", r.Name, dash(r.ID), dash(r.Revision), state, dash(r.Health), r.Pid, dash(r.Address), up, r.Restarts, last)
		}
		return 0, w.Flush()
	case "logs":
		if err := parse(fs, rest, 1, 1, "[-f] SERVICE"); err != nil {
			return 0, err
		}
		sctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
		defer stop()
		return 0, c.Logs(sctx, fs.Arg(0), *follow, e.stdout)
	case "restart":
		if err := parse(fs, rest, 1, 1, "SERVICE"); err != nil {
			return 0, err
		}
		return 0, c.Restart(ctx, fs.Arg(0))
	case "scale":
		if err := parse(fs, rest, 1, -1, "SERVICE=REPLICAS..."); err != nil {
			return 0, err
		}
		for _, a := range fs.Args() {
			name, n, err := supervisor.ParseScale(a)
			if err != nil {
				return 0, err
			}
			if err := c.Scale(ctx, name, n); err != nil {
				return 0, err
			}
		}
		return 0, nil
	case "rollback":
		if err := parse(fs, rest, 1, 1, "SERVICE"); err != nil {
			return 0, err
		}
		return 0, c.Rollback(ctx, fs.Arg(0))
	case "history":
		if err := parse(fs, rest, 1, 1, "[--format table|json] SERVICE"); err != nil {
			return 0, err
		}
		h, err := c.History(ctx, fs.Arg(0))
		if err != nil {
			return 0, err
		}
		if *format == "json" {
			return 0, printJSON(e.stdout, h)
		}
		w := tabwriter.NewWriter(e.stdout, 4, 1, 3, ' ', 0)
		fmt.Fprintln(w, "REVISION\tCREATED\tCAUSE\tIMAGE\tCOMMAND")
		for i := len(h) - 1; i >= 0; i-- {
			r := h[i]
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", r.Revision, r.At.Format(time.RFC3339), r.Cause, r.Spec.Image, dash(strings.Join(r.Spec.Command, " ")))
		}
		return 0, w.Flush()
	}
	return 0, usageError{use}
}

// supervisorEvents is `hull events` without a container id: the supervisor's events as JSON lines.
func supervisorEvents(ctx context.Context, e *env) (int, error) {
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return 0, supervisor.NewClient(e.g.socket).Events(sctx, func(m json.RawMessage) error {
		_, err := fmt.Fprintf(e.stdout, "%s\n", m)
		return err
	})
}

func ports(ps []supervisor.Port) string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d->%d/%s", p.Published, p.Target, p.Protocol))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
