// Command hull is a container runtime with runc's command line. main only parses flags, builds
// the logger and the runtime, dispatches, and turns errors into one line and an exit code.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/initproc"
	_ "github.com/hullrt/hull/runtime/sysmon/early" // quiets Go's sysmon thread before the other inits
)

// version and commit are set at build time with -ldflags "-X main.version=... -X main.commit=...";
// Docker reads the commit line.
var (
	version = "0.1.0-dev"
	commit  = "unknown"
)

func main() {
	// The re-executed container init: nothing of the CLI runs in it.
	if len(os.Args) > 1 && os.Args[1] == "init" {
		os.Exit(initproc.Main())
	}
	nameSelf()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// globals are runc's global flags.
type globals struct {
	root, log, logFormat string
	networkDir, imageDir string
	socket, dataDir      string
	debug, systemdCgroup bool
	rootless, criu       string
	explain              bool   // narrate each step for a learner (cmd/hull/trace.go)
	trace, traceFile     string // --trace json: each step as a JSON line, to stderr or --trace-file
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var g globals
	fs := flag.NewFlagSet("hull", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.root, "root", "/run/hull", "state directory")
	fs.StringVar(&g.networkDir, "network-dir", runtime.DefaultNetworkDir, "where hull networks and their address leases live")
	fs.StringVar(&g.imageDir, "image-dir", defaultImageDir, "the image store: layers, images, containers' roots")
	fs.StringVar(&g.socket, "socket", defaultSocket, "the supervisor daemon's API socket")
	fs.StringVar(&g.dataDir, "data-dir", "/var/lib/hull", "the supervisor's state, replica logs, overlays and volumes")
	fs.StringVar(&g.log, "log", "", "log file (default: stderr)")
	fs.StringVar(&g.logFormat, "log-format", "text", "log format: text or json")
	fs.BoolVar(&g.debug, "debug", false, "narrate every kernel step")
	fs.BoolVar(&g.explain, "explain", false, "narrate each kernel step for a learner: result, time, the shell command that does the same, and why")
	fs.StringVar(&g.trace, "trace", "", "json: print each kernel step as a JSON line (schema: docs/trace.md)")
	fs.StringVar(&g.traceFile, "trace-file", "", "write --trace output to this file instead of stderr")
	fs.BoolVar(&g.systemdCgroup, "systemd-cgroup", false, "use systemd for cgroups (needs systemd as PID 1)")
	fs.StringVar(&g.rootless, "rootless", "auto", "accepted for runc compatibility: auto, true or false")
	fs.StringVar(&g.criu, "criu", "", "accepted for runc compatibility; checkpointing is not supported")
	showVersion := fs.Bool("version", false, "print the version")
	fs.BoolVar(showVersion, "v", false, "print the version")
	fs.Usage = func() { usage(stderr, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		printVersion(stdout)
		return 0
	}
	if fs.NArg() == 0 {
		usage(stderr, fs)
		return 2
	}
	logger, logFile, err := newLogger(g, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "hull:", err)
		return 1
	}
	if logFile != nil {
		defer logFile.Close()
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "hull: unknown command %q (see hull --help)\n", name)
		return 2
	}
	if g.systemdCgroup && !systemdRunning() {
		return fail(logger, stderr, errors.New("--systemd-cgroup needs systemd as PID 1, and this host does not run it; use the default cgroupfs driver"))
	}
	tracer, traceFile, err := newTracer(g, stderr)
	if err != nil {
		return fail(logger, stderr, err)
	}
	if traceFile != nil {
		defer traceFile.Close()
	}
	env := &env{rt: &runtime.Runtime{Root: g.root, NetworkDir: g.networkDir, Log: logger, Trace: tracer, OneShot: true}, stdout: stdout, stderr: stderr, g: g}
	code, err := cmd.run(ctx, env, rest)
	if errors.Is(err, runtime.ErrNeedsFullHull) {
		err = handOff(g) // the lean hull: returns only if the full one could not be run
	}
	if err != nil {
		return fail(logger, stderr, err)
	}
	return code
}

// fail reports an error once: one line on stderr and, with --log, one error record in the log.
func fail(logger interface{ Error(string, ...any) }, stderr io.Writer, err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "hull:", err)
		return 2
	}
	logger.Error(err.Error())
	return 1
}

func systemdRunning() bool {
	_, err := os.Stat("/run/systemd/system")
	return err == nil
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "hull version %s\ncommit: %s\nspec: %s\n", version, commit, specVersion())
}
