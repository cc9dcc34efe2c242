package runtime

import (
	"fmt"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Status is one of the OCI runtime states, plus "paused" as runc reports it.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
)

// transitions is every legal move between states, in one place.
var transitions = map[Status][]Status{
	Creating: {Created, Stopped},
	Created:  {Running, Stopped},
	Running:  {Paused, Stopped},
	Paused:   {Running, Stopped},
	Stopped:  nil,
}

// CanMove reports whether from → to is a legal transition.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// mustMove is for transitions hull itself makes: an illegal one is a bug in hull, not bad input.
func mustMove(from, to Status) {
	if !CanMove(from, to) {
		panic(fmt.Sprintf("hull bug: illegal state transition %s → %s", from, to))
	}
}

// State is what hull keeps on disk for one container, in <root>/<id>/state.json.
type State struct {
	ID            string      `json:"id"`
	Bundle        string      `json:"bundle"`
	Rootfs        string      `json:"rootfs"`
	Pid           int         `json:"pid"`
	PidStart      uint64      `json:"pidStart"` // /proc/<pid>/stat field 22: guards against pid reuse
	Created       time.Time   `json:"created"`
	CgroupPath    string      `json:"cgroupPath"`
	CgroupCreated []string    `json:"cgroupCreated"`     // only these are removed on delete
	Spec          *specs.Spec `json:"-"`                 // the config as it was at create (later edits have no effect); stateFile writes it
	Network       string      `json:"network,omitempty"` // the hull network it is attached to
	Address       string      `json:"address,omitempty"` // its address there
	Service       string      `json:"service,omitempty"` // the netns service of its published ports
	Owner         string      `json:"owner,omitempty"`
}

// OCIState is the state as the runtime spec defines it, for `hull state` and for hooks' stdin.
func (s *State) OCIState(st Status) specs.State {
	pid := s.Pid
	if st == Stopped {
		pid = 0
	}
	var ann map[string]string
	if s.Spec != nil {
		ann = s.Spec.Annotations
	}
	return specs.State{Version: specs.Version, ID: s.ID, Status: specs.ContainerState(st), Pid: pid, Bundle: s.Bundle, Annotations: ann}
}
