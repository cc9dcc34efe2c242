package hostrt

import (
	"context"
	"path/filepath"

	"github.com/hullrt/hull/rootfs/image"
	"github.com/hullrt/hull/supervisor"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// StoreImages runs services from hull's image store (pulled or imported images, each replica on
// its own overlay), and keeps LocalImages' way for an image: that is a directory path.
type StoreImages struct {
	Store *image.Store
	Local LocalImages
}

var _ supervisor.Images = StoreImages{}

func (s StoreImages) Prepare(ctx context.Context, ref, id string) (string, supervisor.ImageConfig, error) {
	if filepath.IsAbs(ref) {
		return s.Local.Prepare(ctx, ref, id)
	}
	c, err := s.Store.Prepare(ctx, ref, id, image.Options{})
	if err != nil {
		return "", supervisor.ImageConfig{}, err
	}
	ic := c.Config
	return c.Rootfs, supervisor.ImageConfig{Entrypoint: ic.Entrypoint, Cmd: ic.Cmd, Env: ic.Env,
		WorkingDir: ic.WorkingDir, User: ic.User, StopSignal: ic.StopSignal, ResolveUser: usersIn(c.Rootfs)}, nil
}

// usersIn resolves compose's user: in the container's own /etc/passwd and /etc/group.
func usersIn(rootfs string) func(string) (specs.User, error) {
	return func(user string) (specs.User, error) { return image.ResolveUser(rootfs, user) }
}

// Release undoes whichever Prepare made the root; both are no-ops for an id they do not hold.
func (s StoreImages) Release(ctx context.Context, id string) error {
	if err := s.Local.Release(ctx, id); err != nil {
		return err
	}
	return s.Store.Release(id)
}
