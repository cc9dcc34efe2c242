package main

import (
	"bufio"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"
)

// machine is what the report says about where it ran.
type machine struct {
	Date, Kernel, CPU, Memory, Cgroups, Go string
	Cores, Rounds                          int
}

func thisMachine(rounds int) machine {
	m := machine{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Rounds: rounds, Go: goruntime.Version(),
		Cores: goruntime.NumCPU(), CPU: "unknown", Memory: "unknown"}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if v := firstField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if v := firstField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.Atoi(strings.TrimSuffix(v, " kB")); err == nil {
			m.Memory = strconv.Itoa(kb/1024/1024) + " GiB"
		}
	}
	m.Cgroups = cgroupMode()
	return m
}

// cgroupMode names the layout the way the rest of hull does: v2, hybrid or v1.
func cgroupMode() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return "v2"
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
		return "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
	}
	return "v1"
}

// firstField returns the value of the first "key : value" line of a /proc file.
func firstField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
