package hostrt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/supervisor"
)

// LocalImages takes image: as a root filesystem directory on this host (absolute, or relative to
// the compose file, which the CLI resolved). Each container gets its own overlay on top of it, so
// replicas never write into the directory or into each other; a read_only service would not
// need one, but one code path is simpler. The image store (rootfs/image) replaces this with
// pulled images behind the same supervisor.Images interface.
type LocalImages struct {
	Dir string // per-container overlay dirs: Dir/<id>/{upper,work,rootfs}
}

var _ supervisor.Images = LocalImages{}

// DefaultContainersDir holds the overlays.
const DefaultContainersDir = "/var/lib/hull/containers"

func (l LocalImages) dir(id string) string {
	d := l.Dir
	if d == "" {
		d = DefaultContainersDir
	}
	return filepath.Join(d, id)
}

func (l LocalImages) Prepare(ctx context.Context, ref, id string) (string, supervisor.ImageConfig, error) {
	var cfg supervisor.ImageConfig
	if !filepath.IsAbs(ref) {
		return "", cfg, fmt.Errorf("%q: only root filesystem directories are supported until the image store lands", ref)
	}
	if fi, err := os.Stat(ref); err != nil || !fi.IsDir() {
		return "", cfg, fmt.Errorf("%s: not a directory", ref)
	}
	d := l.dir(id)
	root := filepath.Join(d, "rootfs")
	for _, sub := range []string{"upper", "work", "rootfs"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o700); err != nil {
			return "", cfg, err
		}
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", ref, filepath.Join(d, "upper"), filepath.Join(d, "work"))
	if err := unix.Mount("overlay", root, "overlay", 0, opts); err != nil {
		os.RemoveAll(d)
		return "", cfg, fmt.Errorf("overlay on %s: %w", ref, err)
	}
	cfg.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cfg.ResolveUser = usersIn(root)
	return root, cfg, nil
}

func (l LocalImages) Release(ctx context.Context, id string) error {
	d := l.dir(id)
	if err := unix.Unmount(filepath.Join(d, "rootfs"), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", d, err)
	}
	return os.RemoveAll(d)
}
