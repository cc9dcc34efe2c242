package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/caps"
)

// multi is a flag that may be given more than once (--env, --cap).
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// cmdExec is runc's exec: either a whole process from --process (what containerd and conmon
// pass) or a command line on top of the container's own process settings.
func cmdExec(ctx context.Context, e *env, args []string) (int, error) {
	var o runtime.ExecOptions
	var envs, capsAdd multi
	fs := flags(e, "exec")
	processFile := fs.String("process", "", "a JSON OCI process (\"-\" for stdin)")
	fs.StringVar(processFile, "p", "", "short for --process")
	fs.BoolVar(&o.Detach, "detach", false, "return once the process runs")
	fs.BoolVar(&o.Detach, "d", false, "short for --detach")
	fs.StringVar(&o.PidFile, "pid-file", "", "write the process's pid here")
	fs.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that receives the pty master")
	tty := fs.Bool("tty", false, "give the process a terminal")
	fs.BoolVar(tty, "t", false, "short for --tty")
	cwd := fs.String("cwd", "", "working directory in the container")
	user := fs.String("user", "", "UID[:GID]")
	fs.StringVar(user, "u", "", "short for --user")
	fs.Var(&envs, "env", "KEY=VALUE (repeatable)")
	fs.Var(&envs, "e", "short for --env")
	fs.Var(&capsAdd, "cap", "add a capability (repeatable)")
	fs.Var(&capsAdd, "c", "short for --cap")
	noNewPrivs := fs.Bool("no-new-privs", false, "set no_new_privs")
	fs.Int("preserve-fds", 0, "accepted for runc compatibility; extra fds are not passed")
	if err := parse(fs, args, 1, -1, "[flags] ID [COMMAND [ARGS...]]"); err != nil {
		return 0, err
	}
	o.ID = fs.Arg(0)
	var err error
	if *processFile != "" {
		o.Process, err = readProcess(*processFile, os.Stdin)
	} else {
		if fs.NArg() < 2 {
			return 0, usageError{"exec: a COMMAND or --process is needed"}
		}
		o.Process, err = e.rt.ExecProcess(o.ID)
		if err == nil {
			o.Process.Args = fs.Args()[1:]
		}
	}
	if err != nil {
		return 0, err
	}
	p := o.Process
	if *tty {
		p.Terminal = true
	}
	if *cwd != "" {
		p.Cwd = *cwd
	}
	if *user != "" {
		if err := setUser(p, *user); err != nil {
			return 0, err
		}
	}
	p.Env = append(p.Env, envs...)
	if *noNewPrivs {
		p.NoNewPrivileges = true
	}
	if len(capsAdd) > 0 {
		if _, err := caps.Parse(capsAdd); err != nil {
			return 0, err
		}
		if p.Capabilities == nil {
			p.Capabilities = &specs.LinuxCapabilities{}
		}
		c := p.Capabilities
		c.Bounding, c.Effective, c.Permitted = append(c.Bounding, capsAdd...), append(c.Effective, capsAdd...), append(c.Permitted, capsAdd...)
	}
	return e.rt.Exec(ctx, o)
}

func readProcess(path string, stdin io.Reader) (*specs.Process, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(stdin)
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read process: %w", err)
	}
	var p specs.Process
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parse process %s: %w", path, err)
	}
	return &p, nil
}

// setUser applies --user UID[:GID] (numbers, as runc takes them).
func setUser(p *specs.Process, v string) error {
	uidS, gidS, hasGID := strings.Cut(v, ":")
	uid, err := strconv.ParseUint(uidS, 10, 32)
	if err != nil {
		return fmt.Errorf("--user %q: want UID[:GID]", v)
	}
	p.User.UID = uint32(uid)
	if hasGID {
		gid, err := strconv.ParseUint(gidS, 10, 32)
		if err != nil {
			return fmt.Errorf("--user %q: want UID[:GID]", v)
		}
		p.User.GID = uint32(gid)
	}
	return nil
}
