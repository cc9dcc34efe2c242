// Command interleave times commands the way hyperfine does, but round-robin: run 1 of every
// command, then run 2 of every command, and so on, so that a drifting load on a shared machine
// falls on all of them alike (hyperfine times all of one command's runs before the next's). It
// writes hyperfine's --export-json shape (results[].command, mean, stddev, median, times, user,
// system; seconds), plus cpu_times: each run's user+system CPU, from wait4's rusage of the
// command's shell and everything it reaped.
//
//	interleave -runs N -warmup W -export-json FILE NAME PREPARE COMMAND [NAME PREPARE COMMAND...]
//
// PREPARE (untimed) and COMMAND run with sh -c; COMMAND's stdout goes to /dev/null.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"
)

type result struct {
	Command  string    `json:"command"`
	Mean     float64   `json:"mean"`
	Stddev   float64   `json:"stddev"`
	Median   float64   `json:"median"`
	User     float64   `json:"user"`
	System   float64   `json:"system"`
	Times    []float64 `json:"times"`
	CPUTimes []float64 `json:"cpu_times"`
}

type command struct{ name, prepare, run string }

func main() {
	runs := flag.Int("runs", 10, "timed runs of each command")
	warmup := flag.Int("warmup", 0, "untimed runs of each command first")
	out := flag.String("export-json", "", "where to write the results")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 || len(args)%3 != 0 || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: interleave -runs N -warmup W -export-json FILE NAME PREPARE COMMAND ...")
		os.Exit(2)
	}
	var cmds []command
	for i := 0; i < len(args); i += 3 {
		cmds = append(cmds, command{args[i], args[i+1], args[i+2]})
	}
	res := make([]result, len(cmds))
	for i, c := range cmds {
		res[i].Command = c.name
	}
	for n := -*warmup; n < *runs; n++ {
		for i, c := range cmds {
			wall, user, sys, err := once(c)
			if err != nil {
				fmt.Fprintf(os.Stderr, "interleave: %s: %v\n", c.name, err)
				os.Exit(1)
			}
			if n < 0 {
				continue
			}
			r := &res[i]
			r.Times = append(r.Times, wall)
			r.CPUTimes = append(r.CPUTimes, user+sys)
			r.User += user / float64(*runs)
			r.System += sys / float64(*runs)
		}
	}
	for i := range res {
		summarize(&res[i])
		r := res[i]
		fmt.Printf("%-8s wall %6.2f ± %.2f ms (median %.2f)   CPU %.2f ms\n", r.Command, r.Mean*1000, r.Stddev*1000, r.Median*1000, (r.User+r.System)*1000)
	}
	b, err := json.Marshal(map[string][]result{"results": res})
	if err == nil {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "interleave:", err)
		os.Exit(1)
	}
}

// once prepares and runs one command: wall time, user and system CPU, in seconds.
func once(c command) (wall, user, sys float64, err error) {
	if out, err := exec.Command("sh", "-c", c.prepare).CombinedOutput(); err != nil {
		return 0, 0, 0, fmt.Errorf("prepare: %v: %s", err, out)
	}
	cmd := exec.Command("sh", "-c", c.run)
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, 0, err
	}
	wall = time.Since(t0).Seconds()
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return wall, tv(ru.Utime), tv(ru.Stime), nil
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

func summarize(r *result) {
	n := float64(len(r.Times))
	for _, t := range r.Times {
		r.Mean += t / n
	}
	for _, t := range r.Times {
		r.Stddev += (t - r.Mean) * (t - r.Mean) / n
	}
	r.Stddev = math.Sqrt(r.Stddev)
	s := append([]float64(nil), r.Times...)
	sort.Float64s(s)
	r.Median = s[len(s)/2]
}
