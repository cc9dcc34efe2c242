package rootfs

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// v1Hierarchy is one cgroup v1 hierarchy mounted on the host, and where this process
// sits in it.
type v1Hierarchy struct {
	mountpoint string   // e.g. /sys/fs/cgroup/cpu,cpuacct
	root       string   // the cgroup at that mount's root, usually "/"
	subsystems []string // e.g. cpu, cpuacct; or name=systemd
	path       string   // the container process's cgroup, from /proc/<pid>/cgroup
}

// dir is the host directory of this process's own cgroup in the hierarchy.
func (h v1Hierarchy) dir() (string, error) {
	rel, err := filepath.Rel(h.root, h.path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("cgroup %s is outside the %s mount (root %s): use a cgroup namespace", h.path, h.mountpoint, h.root)
	}
	return filepath.Join(h.mountpoint, rel), nil
}

// v1Hierarchies pairs the cgroup v1 mounts in a mountinfo file (proc(5)) with the lines of
// a /proc/<pid>/cgroup file (cgroups(7): "hierarchy-ID:controller-list:cgroup-path").
func v1Hierarchies(mountinfo, procCgroup string) ([]v1Hierarchy, error) {
	paths := map[string]string{} // controller list, as in the cgroup file -> path
	for _, line := range strings.Split(procCgroup, "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 || parts[1] == "" {
			continue // blank, or the cgroup v2 "0::/path" line
		}
		paths[parts[1]] = parts[2]
	}
	var out []v1Hierarchy
	for _, line := range strings.Split(mountinfo, "\n") {
		fields := strings.Fields(line)
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+4 || fields[sep+1] != "cgroup" {
			continue
		}
		opts := map[string]bool{}
		for _, o := range strings.Split(fields[sep+3], ",") {
			opts[o] = true
		}
		h := v1Hierarchy{mountpoint: unescapeMountinfo(fields[4]), root: unescapeMountinfo(fields[3])}
		for list, path := range paths {
			if allIn(strings.Split(list, ","), opts) {
				h.subsystems, h.path = strings.Split(list, ","), path
				break
			}
		}
		if h.subsystems == nil {
			return nil, fmt.Errorf("cgroup mount %s: no line in the process's cgroup file for %s", h.mountpoint, fields[sep+3])
		}
		out = append(out, h)
	}
	return out, nil
}

func allIn(items []string, set map[string]bool) bool {
	for _, it := range items {
		if !set[it] {
			return false
		}
	}
	return true
}

// unescapeMountinfo undoes the octal escapes (\040 for a space) of mountinfo paths.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
