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
	"network":  {"manage hull networks: create, ls, inspect, rm (hull's own verb)", cmdNetwork},
	"spec":     {"write a safe default config.json", cmdSpec},
	"daemon":   {"run the supervisor: keeps compose services' replicas running", cmdDaemon},
	"up":       {"bring up a compose file's services (runs a daemon if none is running)", cmdUp},
	"down":     {"stop and remove a compose project's replicas", cmdDown},
	"service":  {"services of the supervisor: ls, ps, logs, inspect, restart", cmdService},
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

func createFlags(e *env, name string, o *runtime.CreateOptions) *flag.FlagSet {
	fs := flags(e, name)
	fs.StringVar(&o.Bundle, "bundle", ".", "path to the bundle (config.json + rootfs)")
	fs.StringVar(&o.Bundle, "b", ".", "short for --bundle")
	fs.StringVar(&o.PidFile, "pid-file", "", "write the container init's pid here")
	fs.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	fs.BoolVar(&o.NoPivot, "no-pivot", false, "use MS_MOVE and chroot instead of pivot_root")
	fs.Bool("no-new-keyring", false, "accepted for runc compatibility")
	fs.Int("preserve-fds", 0, "accepted for runc compatibility; extra fds are not passed")
	return fs
}

func cmdCreate(ctx context.Context, e *env, args []string) (int, error) {
	var o runtime.CreateOptions
	fs := createFlags(e, "create", &o)
	if err := parse(fs, args, 1, 1, "[flags] ID"); err != nil {
		return 0, err
	}
	o.ID = fs.Arg(0)
	return 0, e.rt.Create(ctx, o)
}

func cmdRun(ctx context.Context, e *env, args []string) (int, error) {
	var o runtime.CreateOptions
	fs := createFlags(e, "run", &o)
	detach := fs.Bool("detach", false, "return once the process started")
	fs.BoolVar(detach, "d", false, "short for --detach")
	fs.Bool("keep", false, "accepted for runc compatibility")
	if err := parse(fs, args, 1, 1, "[flags] ID"); err != nil {
		return 0, err
	}
	o.ID = fs.Arg(0)
	return e.rt.Run(ctx, o, *detach)
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
	for _, name := range []string{"create", "start", "run", "exec", "state", "kill", "delete", "list", "ps", "pause", "resume", "update", "events", "network", "spec", "features", "daemon", "up", "down", "service"} {
		fmt.Fprintf(tw, "  %s\t%s\n", name, commands[name].summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nGlobal flags:")
	fs.PrintDefaults()
}
