package cgroups

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// v1Names are the v1 hierarchies hull joins, in the order it creates them. "systemd" is the
// named hierarchy name=systemd; it has no controller but runc joins it too, so that tools
// reading /proc/<pid>/cgroup see the container's own path.
var v1Names = []string{
	"systemd", "cpuset", "cpu", "cpuacct", "memory", "devices", "freezer", "pids",
	"blkio", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma",
}

// layout is where the host mounts its cgroup hierarchies.
type layout struct {
	mountinfo string            // the proc_pid_mountinfo(5) text it was read from
	mode      string            // "v1", "hybrid" or "v2"
	v1Root    string            // the directory holding the v1 mounts, e.g. /sys/fs/cgroup
	v1        map[string]string // hierarchy name -> mount point
	unified   string            // the cgroup2 mount point, "" if none
}

// hostLayout reads /proc/self/mountinfo once per process: cgroup mounts do not move while
// a runtime runs, and parsing it on every call would cost more than the rest of New.
var hostLayout = sync.OnceValues(func() (*layout, error) {
	mi, err := readFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	lay, err := parseMountinfo(bytes.NewReader(mi))
	if err != nil {
		return nil, err
	}
	lay.mountinfo = string(mi)
	return lay, nil
})

// HostMountinfo is this process's /proc/self/mountinfo as the host layout was read from it
// (once per process). A mount namespace cloned from this process's starts with these mounts,
// so the runtime hands it to package rootfs for the container's cgroup v1 view instead of
// having the kernel format the new namespace's table again (≈0.2 ms of a `hull run`).
func HostMountinfo() (string, error) {
	lay, err := hostLayout()
	if err != nil {
		return "", err
	}
	return lay.mountinfo, nil
}

// parseMountinfo finds the cgroup and cgroup2 mounts in a proc_pid_mountinfo(5) listing.
func parseMountinfo(r io.Reader) (*layout, error) {
	lay := &layout{v1: map[string]string{}}
	s := bufio.NewScanner(r)
	for s.Scan() {
		// 36 35 98:0 /root /mnt rw,noatime master:1 - ext3 /dev/root rw,errors=continue
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		mnt := unescapeMount(f[4])
		switch g[0] {
		case "cgroup2":
			// Prefer the well-known places if a container shows several cgroup2 mounts.
			if lay.unified == "" || mnt == "/sys/fs/cgroup" || mnt == "/sys/fs/cgroup/unified" {
				lay.unified = mnt
			}
		case "cgroup":
			for _, opt := range strings.Split(g[2], ",") {
				name := strings.TrimPrefix(opt, "name=")
				if slices.Contains(v1Names, name) && lay.v1[name] == "" {
					lay.v1[name] = mnt
				}
			}
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	switch {
	case len(lay.v1) > 0 && lay.unified != "":
		lay.mode = "hybrid"
	case len(lay.v1) > 0:
		lay.mode = "v1"
	case lay.unified != "":
		lay.mode = "v2"
	default:
		return nil, errors.New("no cgroup or cgroup2 filesystem is mounted")
	}
	for _, m := range lay.v1 {
		root := filepath.Dir(m)
		if lay.v1Root != "" && lay.v1Root != root {
			return nil, fmt.Errorf("cgroup v1 mounts under both %s and %s are not supported", lay.v1Root, root)
		}
		lay.v1Root = root
	}
	return lay, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space and so on).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			var v byte
			ok := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					ok = false
					break
				}
				v = v*8 + c - '0'
			}
			if ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// v1Mounts lists each distinct v1 mount point once, in v1Names order (cpu and cpuacct may
// share one mount).
func (l *layout) v1Mounts() []string {
	var out []string
	for _, n := range v1Names {
		if m, ok := l.v1[n]; ok && !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// mounts lists every hierarchy hull makes directories in.
func (l *layout) mounts() []string {
	out := l.v1Mounts()
	if l.unified != "" {
		out = append(out, l.unified)
	}
	return out
}
