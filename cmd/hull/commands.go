package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/sysmon"
)

// env is what every command gets: the runtime and where to print.
type env struct {
	rt             *runtime.Runtime
	stdout, stderr io.Writer
	g              globals
}

type command struct {
	summary string
	run     func(ctx context.Context, e *env, args []string) (int, error)
}

// usageError marks a wrong command line (exit 2) as opposed to a failed operation (exit 1).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

var commands = map[string]command{
	"create":   {"create a container from a bundle; it waits in \"created\" for start", cmdCreate},
	"start":    {"start the process of a created container", cmdStart},
	"run":      {"create and start a container", cmdRun},
	"state":    {"print a container's state as JSON", cmdState},
	"exec":     {"run another process in a running container", cmdExec},
	"kill":     {"send a signal to a container's init (default SIGTERM)", cmdKill},
	"delete":   {"delete a container and everything it holds", cmdDelete},
	"list":     {"list containers", cmdList},
	"ps":       {"list the processes of a container", cmdPs},
	"pause":    {"freeze every process of a container", cmdPause},
	"resume":   {"thaw a paused container", cmdResume},
	"update":   {"change a container's cgroup limits", cmdUpdate},
	"events":   {"a container's usage and OOM events as JSON lines; without ID, the supervisor's events", cmdEvents},
	"spec":     {"write a safe default config.json", cmdSpec},
	"features": {"print the runtime-spec features hull implements", cmdFeatures},
}

func flags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("hull "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses flags and checks the number of positional arguments.
func parse(fs *flag.FlagSet, args []string, min, max int, what string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if n := fs.NArg(); n < min || (max >= 0 && n > max) {
		return usageError{fmt.Sprintf("%s: usage: %s %s", fs.Name(), fs.Name(), what)}
	}
	return nil
}

func createFlags(e *env, name string, o *runtime.CreateOptions, dryRun *bool) *flag.FlagSet {
	fs := flags(e, name)
	fs.BoolVar(dryRun, "dry-run", false, "print the plan (namespaces, cgroup writes, mounts, caps, seccomp, hooks) and change nothing; needs no root")
	fs.StringVar(&o.Bundle, "bundle", ".", "path to the bundle (config.json + rootfs)")
	fs.StringVar(&o.Bundle, "b", ".", "short for --bundle")
	fs.StringVar(&o.PidFile, "pid-file", "", "write the container init's pid here")
	fs.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	fs.BoolVar(&o.NoPivot, "no-pivot", false, "use MS_MOVE and chroot instead of pivot_root")
	fs.Bool("no-new-keyring", false, "accepted for runc compatibility")
	fs.Int("preserve-fds", 0, "accepted for runc compatibility; extra fds are not passed")
	// hull's own: the same as the org.hullrt.network and org.hullrt.publish annotations,
	// which they override. runc has neither, so no runc client passes them.
	fs.StringVar(&o.Network, "network", "", "hull: attach the container to this hull network (needs a new network namespace)")
	fs.StringVar(&o.Publish, "publish", "", `hull: publish ports, e.g. "8080:80,5353:53/udp" (needs --network)`)
	return fs
}

func cmdCreate(ctx context.Context, e *env, args []string) (int, error) {
	var o runtime.CreateOptions
	var img imageFlags
	var dry bool
	fs := createFlags(e, "create", &o, &dry)
	addImageFlags(fs, &img)
	if err := parseCreate(fs, args, &img); err != nil {
		return 0, err
	}
	o.ID = fs.Arg(0)
	if dry {
		return 0, dryRun(ctx, e, o, false, img)
	}
	narrateQuiet(e)
	if img.ref == "" {
		return 0, e.rt.Create(ctx, o)
	}
	bundle, release, err := img.bundle(ctx, e, o.ID, fs.Args()[1:])
	if err != nil {
		return 0, err
	}
	o.Bundle = bundle
	if err := e.rt.Create(ctx, o); err != nil {
		releaseUnlessCreated(e, o.ID, bundle, release)
		return 0, err
	}
	return 0, nil
}

// narrateQuiet records what package sysmon did to hull's own process before main, so a
// narrated create or run shows it (a dry run plans only the container's steps).
func narrateQuiet(e *env) {
	sysmon.Narrate(func(op, args string, err error, ns int64) { e.rt.Step(op, args, err, time.Duration(ns)) })
}

// parseCreate parses create's and run's flags: one ID, or with --image an ID and a command.
func parseCreate(fs *flag.FlagSet, args []string, img *imageFlags) error {
	if err := parse(fs, args, 1, -1, "[flags] ID  |  --image REF [flags] ID [CMD...]"); err != nil {
		return err
	}
	if img.ref == "" && fs.NArg() > 1 {
		return usageError{fmt.Sprintf("%s: usage: %s [flags] ID (a command needs --image)", fs.Name(), fs.Name())}
	}
	return nil
}

func cmdRun(ctx context.Context, e *env, args []string) (int, error) {
	var o runtime.CreateOptions
	var dry bool
	fs := createFlags(e, "run", &o, &dry)
	detach := fs.Bool("detach", false, "return once the process started")
	fs.BoolVar(detach, "d", false, "short for --detach")
	fs.Bool("keep", false, "accepted for runc compatibility")
	var img imageFlags
	addImageFlags(fs, &img)
	if err := parseCreate(fs, args, &img); err != nil {
		return 0, err
	}
	o.ID = fs.Arg(0)
	if dry {
		return 0, dryRun(ctx, e, o, true, img)
	}
	narrateQuiet(e)
	if img.ref == "" {
		return e.rt.Run(ctx, o, *detach)
	}
	bundle, release, err := img.bundle(ctx, e, o.ID, fs.Args()[1:])
	if err != nil {
		return 0, err
	}
	o.Bundle = bundle
	code, err := e.rt.Run(ctx, o, *detach)
	if err != nil {
		releaseUnlessCreated(e, o.ID, bundle, release)
	}
	return code, err
}

// dryRun prints the plan: narrated on stdout unless --explain or --trace chose the output.
func dryRun(ctx context.Context, e *env, o runtime.CreateOptions, start bool, img imageFlags) error {
	if img.ref != "" {
		// An image run pulls, unpacks and mounts before there is a plan to print.
		return usageError{"--dry-run plans a bundle; it cannot be combined with --image"}
	}
	if e.rt.Trace == nil {
		e.rt.Trace = runtime.Explainer(e.stdout)
	}
	return e.rt.DryRun(ctx, o, start)
}

func cmdStart(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "start")
	if err := parse(fs, args, 1, 1, "ID"); err != nil {
		return 0, err
	}
	return 0, e.rt.Start(ctx, fs.Arg(0))
}

func cmdState(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "state")
	if err := parse(fs, args, 1, 1, "ID"); err != nil {
		return 0, err
	}
	c, err := e.rt.State(fs.Arg(0))
	if err != nil {
		return 0, err
	}
	return 0, printJSON(e.stdout, c)
}

func cmdKill(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "kill")
	all := fs.Bool("all", false, "signal every process of the container")
	fs.BoolVar(all, "a", false, "short for --all")
	if err := parse(fs, args, 1, 2, "[--all] ID [SIGNAL]"); err != nil {
		return 0, err
	}
	sig := unix.SIGTERM
	if fs.NArg() == 2 {
		var err error
		if sig, err = runtime.ParseSignal(fs.Arg(1)); err != nil {
			return 0, err
		}
	}
	return 0, e.rt.Kill(fs.Arg(0), sig, *all)
}

func cmdDelete(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "delete")
	force := fs.Bool("force", false, "kill a running container first")
	fs.BoolVar(force, "f", false, "short for --force")
	if err := parse(fs, args, 1, -1, "[--force] ID..."); err != nil {
		return 0, err
	}
	for _, id := range fs.Args() {
		if err := e.rt.Delete(ctx, id, *force); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func cmdList(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "list")
	quiet := fs.Bool("quiet", false, "print only ids")
	fs.BoolVar(quiet, "q", false, "short for --quiet")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "short for --format")
	if err := parse(fs, args, 0, 0, "[--quiet] [--format table|json]"); err != nil {
		return 0, err
	}
	cs, err := e.rt.List()
	if err != nil {
		return 0, err
	}
	switch {
	case *quiet:
		for _, c := range cs {
			fmt.Fprintln(e.stdout, c.ID)
		}
	case *format == "json":
		return 0, printJSON(e.stdout, cs)
	case *format == "table":
		w := tabwriter.NewWriter(e.stdout, 12, 1, 3, ' ', 0)
		fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
		for _, c := range cs {
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", c.ID, c.Pid, c.Status, c.Bundle, c.Created.Format(time.RFC3339Nano), c.Owner)
		}
		return 0, w.Flush()
	default:
		return 0, usageError{fmt.Sprintf("unknown --format %q", *format)}
	}
	return 0, nil
}

func cmdPs(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "ps")
	format := fs.String("format", "table", "table or json")
	fs.StringVar(format, "f", "table", "short for --format")
	if err := parse(fs, args, 1, 1, "[--format table|json] ID"); err != nil {
		return 0, err
	}
	pids, err := e.rt.Pids(fs.Arg(0))
	if err != nil {
		return 0, err
	}
	if *format == "json" {
		return 0, printJSON(e.stdout, pids)
	}
	fmt.Fprintln(e.stdout, "PID\tCMD")
	for _, p := range pids {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		fmt.Fprintf(e.stdout, "%d\t%s", p, cmdline)
	}
	return 0, nil
}

func cmdPause(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "pause")
	if err := parse(fs, args, 1, 1, "ID"); err != nil {
		return 0, err
	}
	return 0, e.rt.Pause(fs.Arg(0))
}

func cmdResume(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "resume")
	if err := parse(fs, args, 1, 1, "ID"); err != nil {
		return 0, err
	}
	return 0, e.rt.Resume(fs.Arg(0))
}

func cmdSpec(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "spec")
	bundle := fs.String("bundle", ".", "where to write config.json")
	fs.StringVar(bundle, "b", ".", "short for --bundle")
	rootless := fs.Bool("rootless", false, "a config for an unprivileged user")
	if err := parse(fs, args, 0, 0, "[--bundle DIR] [--rootless]"); err != nil {
		return 0, err
	}
	path := filepath.Join(*bundle, "config.json")
	if _, err := os.Stat(path); err == nil {
		return 0, fmt.Errorf("%s exists: remove it first", path)
	}
	b, err := json.MarshalIndent(runtime.DefaultSpec(*rootless), "", "\t")
	if err != nil {
		return 0, err
	}
	return 0, os.WriteFile(path, append(b, '\n'), 0o644)
}

func cmdFeatures(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "features")
	if err := parse(fs, args, 0, 0, ""); err != nil {
		return 0, err
	}
	return 0, printJSON(e.stdout, runtime.Features())
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func specVersion() string { return specs.Version }

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "hull: a container runtime with runc's command line\n\nUsage: hull [global flags] COMMAND [flags] [args]\n\nCommands:")
	tw := tabwriter.NewWriter(w, 10, 1, 2, ' ', 0)
	for _, name := range []string{"create", "start", "run", "exec", "state", "kill", "delete", "list", "ps", "pause", "resume", "update", "events", "network", "image", "spec", "features", "daemon", "up", "down", "service"} {
		fmt.Fprintf(tw, "  %s\t%s\n", name, commands[name].summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nGlobal flags:")
	fs.PrintDefaults()
}
