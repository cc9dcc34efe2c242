package runtime

import specs "github.com/opencontainers/runtime-spec/specs-go"

// execLabels is the process an exec runs with its LSM labels settled: what the process JSON
// names wins; a label it leaves empty is the container's, as runc does, so an exec'd process is
// confined like the container's own unless the caller says otherwise.
func execLabels(p, container *specs.Process) *specs.Process {
	if container == nil || (p.ApparmorProfile != "" && p.SelinuxLabel != "") {
		return p
	}
	q := *p
	if q.ApparmorProfile == "" {
		q.ApparmorProfile = container.ApparmorProfile
	}
	if q.SelinuxLabel == "" {
		q.SelinuxLabel = container.SelinuxLabel
	}
	return &q
}
