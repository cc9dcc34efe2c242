package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// cmdUpdate is runc's update: a LinuxResources JSON (--resources FILE, or "-" for stdin, which
// Docker uses) and/or single flags, which win over the JSON.
func cmdUpdate(_ context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "update")
	resFile := fs.String("resources", "", "a JSON LinuxResources (\"-\" for stdin)")
	fs.StringVar(resFile, "r", "", "short for --resources")
	sizes := map[string]*string{}
	for _, n := range []string{"memory", "memory-reservation", "memory-swap", "kernel-memory", "kernel-memory-tcp"} {
		sizes[n] = fs.String(n, "", n+" in bytes (k, m, g suffixes accepted)")
	}
	ints := map[string]*string{}
	for _, n := range []string{"cpu-share", "cpu-quota", "cpu-period", "cpu-rt-period", "cpu-rt-runtime", "pids-limit", "blkio-weight"} {
		ints[n] = fs.String(n, "", n)
	}
	cpus := fs.String("cpuset-cpus", "", "CPUs allowed, e.g. 0-1")
	mems := fs.String("cpuset-mems", "", "memory nodes allowed")
	if err := parse(fs, args, 1, 1, "[--resources FILE|-] [--memory N] ... ID"); err != nil {
		return 0, err
	}
	res := &specs.LinuxResources{}
	if *resFile != "" {
		var b []byte
		var err error
		if *resFile == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(*resFile)
		}
		if err != nil {
			return 0, fmt.Errorf("read resources: %w", err)
		}
		if err := json.Unmarshal(b, res); err != nil {
			return 0, fmt.Errorf("parse resources: %w", err)
		}
	}
	if err := applyUpdateFlags(fs, res, sizes, ints, *cpus, *mems); err != nil {
		return 0, err
	}
	return 0, e.rt.Update(fs.Arg(0), res)
}

func applyUpdateFlags(fs *flag.FlagSet, res *specs.LinuxResources, sizes, ints map[string]*string, cpus, mems string) error {
	mem := func() *specs.LinuxMemory {
		if res.Memory == nil {
			res.Memory = &specs.LinuxMemory{}
		}
		return res.Memory
	}
	cpu := func() *specs.LinuxCPU {
		if res.CPU == nil {
			res.CPU = &specs.LinuxCPU{}
		}
		return res.CPU
	}
	for name, v := range sizes {
		if *v == "" {
			continue
		}
		n, err := parseSize(*v)
		if err != nil {
			return fmt.Errorf("--%s: %w", name, err)
		}
		switch name {
		case "memory":
			mem().Limit = &n
		case "memory-reservation":
			mem().Reservation = &n
		case "memory-swap":
			mem().Swap = &n
		case "kernel-memory":
			mem().Kernel = &n
		case "kernel-memory-tcp":
			mem().KernelTCP = &n
		}
	}
	for name, v := range ints {
		if *v == "" {
			continue
		}
		n, err := strconv.ParseInt(*v, 10, 64)
		if err != nil {
			return fmt.Errorf("--%s %q: not a number", name, *v)
		}
		u := uint64(n)
		switch name {
		case "cpu-share":
			cpu().Shares = &u
		case "cpu-quota":
			cpu().Quota = &n
		case "cpu-period":
			cpu().Period = &u
		case "cpu-rt-period":
			cpu().RealtimePeriod = &u
		case "cpu-rt-runtime":
			cpu().RealtimeRuntime = &n
		case "pids-limit":
			res.Pids = &specs.LinuxPids{Limit: &n}
		case "blkio-weight":
			w := uint16(n)
			res.BlockIO = &specs.LinuxBlockIO{Weight: &w}
		}
	}
	if cpus != "" {
		cpu().Cpus = cpus
	}
	if mems != "" {
		cpu().Mems = mems
	}
	return nil
}

// parseSize reads "67108864", "64m", "1G"; -1 means unlimited.
func parseSize(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	mult := int64(1)
	switch strings.ToLower(s[len(s)-1:]) {
	case "k":
		mult = 1 << 10
	case "m":
		mult = 1 << 20
	case "g":
		mult = 1 << 30
	}
	if mult != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.ToLower(s), "b"), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	return n * mult, nil
}

func cmdEvents(ctx context.Context, e *env, args []string) (int, error) {
	fs := flags(e, "events")
	interval := fs.Duration("interval", 5*time.Second, "time between stats lines")
	stats := fs.Bool("stats", false, "print the stats once and exit")
	if err := parse(fs, args, 0, 1, "[--stats] [--interval D] [ID]"); err != nil {
		return 0, err
	}
	if fs.NArg() == 0 {
		return supervisorEvents(ctx, e) // no container: the supervisor's events
	}
	if err := parse(fs, args, 1, 1, "[--stats] [--interval D] ID"); err != nil {
		return 0, err
	}
	if *interval <= 0 {
		return 0, usageError{"--interval must be positive"}
	}
	return 0, e.rt.Events(ctx, fs.Arg(0), *interval, *stats, e.stdout)
}
