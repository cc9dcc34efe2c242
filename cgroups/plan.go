package cgroups

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// PlannedStep is one step New would record, in the Recorder's words (op and args).
type PlannedStep struct{ Op, Args string }

// Plan lists what New(path, r) would do on this host, without doing it (for --dry-run): the
// directories it would make, then the files it would write. It only reads: the host's cgroup
// mounts and which directories exist already. Writes to a controller the host lacks are left
// out when optional, as New does; a required one is an error, as New's would be.
func Plan(path string, r *specs.LinuxResources) ([]PlannedStep, error) {
	if err := validatePath(path); err != nil {
		return nil, err
	}
	lay, err := hostLayout()
	if err != nil {
		return nil, err
	}
	var out []PlannedStep
	var mounts []string
	if lay.mode == "v2" {
		mounts = []string{lay.unified}
	} else {
		mounts = lay.mounts()
	}
	for _, m := range mounts {
		dir := m
		for _, p := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
			dir += "/" + p
			if _, err := os.Stat(dir); err != nil {
				out = append(out, PlannedStep{"cgroup.mkdir", dir})
			}
		}
	}
	var ws []write
	dirOf := func(ctrl string) string { return lay.unified + path }
	if lay.mode == "v2" {
		ws, err = v2Writes(r)
	} else {
		ws, err = v1Writes(r)
		dirOf = func(ctrl string) string {
			if m, ok := lay.v1[ctrl]; ok {
				return m + path
			}
			return ""
		}
	}
	if err != nil {
		return nil, err
	}
	for _, w := range ws {
		d := dirOf(w.ctrl)
		if d == "" {
			if w.optional {
				continue
			}
			return nil, fmt.Errorf("%s: the %s controller is not available on this host", w.field, w.ctrl)
		}
		out = append(out, PlannedStep{"cgroup.write", fmt.Sprintf("%s=%s in %s", w.file, w.value, d)})
	}
	if lay.mode == "v2" && r != nil && len(r.Devices) > 0 {
		out = append(out, PlannedStep{"cgroup.devices", fmt.Sprintf("eBPF filter of %d rules attached to %s", len(r.Devices), lay.unified+path)})
	}
	return out, nil
}
