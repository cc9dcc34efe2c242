package hostrt

import (
	"context"
	"errors"
	"net/netip"

	"github.com/hullrt/hull/netns"
	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/supervisor"
)

// Networks makes a project's hull network (a bridge with a free /24) and removes it at down.
type Networks struct{ RT *runtime.Runtime }

var _ supervisor.Networks = Networks{}

func (n Networks) Ensure(ctx context.Context, name string) error {
	st, err := n.RT.Networks()
	if err != nil {
		return err
	}
	defer st.Close()
	nets, err := st.List()
	if err != nil {
		return err
	}
	for _, x := range nets {
		if x.Name == name {
			return nil
		}
	}
	_, err = st.Create(ctx, name, netip.Prefix{})
	return err
}

func (n Networks) Remove(ctx context.Context, name string) error {
	st, err := n.RT.Networks()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Remove(ctx, name); err != nil && !errors.Is(err, netns.ErrNotFound) {
		return err
	}
	return nil
}
