package runtime

import (
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container is one row of `list` and the body of `state`, in runc's JSON shape.
type Container struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
	Network     string            `json:"network,omitempty"` // the hull network it joined (org.hullrt.network)
	Address     string            `json:"address,omitempty"` // its address there
}

// State reports one container, its status derived from the kernel.
func (r *Runtime) State(id string) (*Container, error) {
	s, err := r.loadBrief(id)
	if err != nil {
		return nil, err
	}
	return r.describe(s), nil
}

func (r *Runtime) describe(s *State) *Container {
	st := r.status(s)
	oci := s.OCIState(st)
	return &Container{OCIVersion: specs.Version, ID: s.ID, Pid: oci.Pid, Status: st, Bundle: s.Bundle,
		Rootfs: s.Rootfs, Created: s.Created, Annotations: oci.Annotations, Owner: s.Owner,
		Network: s.Network, Address: s.Address}
}

// List reports every container under the root.
func (r *Runtime) List() ([]*Container, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	out := []*Container{}
	for _, id := range ids {
		if s, err := r.loadBrief(id); err == nil {
			out = append(out, r.describe(s))
		}
	}
	return out, nil
}
