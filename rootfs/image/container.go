package image

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Container is a root filesystem prepared from an image for one container.
type Container struct {
	ID     string      `json:"id"`
	Image  string      `json:"image"` // image ID
	Ref    string      `json:"ref"`   // the reference it was prepared from
	Layers []string    `json:"layers"`
	Bundle string      `json:"bundle"` // containers/ID: config.json goes here
	Rootfs string      `json:"rootfs"` // Bundle/rootfs
	Mount  string      `json:"mount"`  // "overlay" or "copy"
	Config ImageConfig `json:"config"`
}

// Prepare makes a fresh root filesystem of the image ref for container id and returns where it
// is: an overlayfs mount with the image's layers read-only below and the container's own
// upper and work directories, or, where overlayfs is unavailable, a private copy. The image is
// pulled first if the store lacks it. Release undoes it.
func (s *Store) Prepare(ctx context.Context, ref, id string, o Options) (c *Container, err error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	img, err := s.Get(ref)
	if errors.Is(err, ErrNotFound) && !idPrefix().MatchString(ref) {
		img, err = s.Pull(ctx, ref, o)
	}
	if err != nil {
		return nil, err
	}
	unlock, err := s.lockGCShared()
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The image may have been removed between the pull and the lock.
	if img, err = s.record(img.ID); err != nil {
		return nil, err
	}
	dir := s.containerDir(id)
	if err := os.Mkdir(dir, 0o711); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %s already has a root in the image store", id)
		}
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.Release(id)
		}
	}()
	c = &Container{ID: id, Image: img.ID, Ref: ref, Bundle: dir, Rootfs: filepath.Join(dir, "rootfs"), Config: img.Config}
	for _, l := range img.Layers {
		c.Layers = append(c.Layers, l.DiffID)
	}
	// The record goes first: from here on the layers are referenced, whatever happens next.
	c.Mount = "copy"
	if err := writeJSON(filepath.Join(dir, "container.json"), c); err != nil {
		return nil, err
	}
	for _, d := range []string{"rootfs", "upper", "work"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	merr := s.mountOverlay(c)
	if merr == nil {
		c.Mount = "overlay"
	} else {
		s.log.Debug("overlay unavailable, copying the layers", "container", id, "reason", merr)
		if err := s.copyLayers(c); err != nil {
			return nil, err
		}
	}
	if err := writeJSON(filepath.Join(dir, "container.json"), c); err != nil {
		return nil, err
	}
	return c, nil
}

// mountOverlay mounts the layers with overlayfs(5): "lowerdir" lists them top first, read-only;
// writes go to "upperdir", and "workdir" (same filesystem as upper) is overlayfs' scratch space.
func (s *Store) mountOverlay(c *Container) error {
	if len(c.Layers) == 0 {
		return errors.New("an image without layers")
	}
	if s.noOverlay {
		return errors.New("overlay disabled")
	}
	var lowers []string
	for i := len(c.Layers) - 1; i >= 0; i-- {
		li, err := s.layerInfo(c.Layers[i])
		if err != nil {
			return err
		}
		if !li.Overlay {
			return errors.New("layers were unpacked without root: whiteouts are not in overlayfs format")
		}
		lowers = append(lowers, filepath.Join(s.layerDir(c.Layers[i]), "diff"))
	}
	data := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lowers, ":"),
		filepath.Join(c.Bundle, "upper"), filepath.Join(c.Bundle, "work"))
	if strings.ContainsAny(s.dir, ",:") {
		return errors.New("the store's path holds ',' or ':', which overlayfs options cannot carry")
	}
	if len(data) >= os.Getpagesize() {
		return fmt.Errorf("%d layers make overlayfs options longer than a page", len(lowers))
	}
	if err := unix.Mount("overlay", c.Rootfs, "overlay", 0, data); err != nil {
		return fmt.Errorf("mount -t overlay overlay %s: %w", c.Rootfs, err)
	}
	s.log.Debug("mount -t overlay", "target", c.Rootfs, "layers", len(lowers))
	return nil
}

// Release unmounts and removes the root of container id. Releasing a container the store does
// not hold is not an error: delete may run twice.
func (s *Store) Release(id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	dir := s.containerDir(id)
	rootfs := filepath.Join(dir, "rootfs")
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if !isMountPoint(dir, rootfs) {
		return removeDir(dir)
	}
	if err := unix.Unmount(rootfs, 0); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("unmount %s: %w", rootfs, err)
		}
		// Still busy (a process holds a file there): detach it; the kernel frees it later.
		if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", rootfs, err)
		}
	}
	return removeDir(dir)
}

func removeDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// isMountPoint reports whether rootfs is on another filesystem than dir: the overlay is, a
// copy is not. (A crash between mount and record leaves no doubt this way.)
func isMountPoint(dir, rootfs string) bool {
	var a, b unix.Stat_t
	if unix.Lstat(dir, &a) != nil || unix.Lstat(rootfs, &b) != nil {
		return false
	}
	return a.Dev != b.Dev
}

// Container returns the record of a prepared container.
func (s *Store) Container(id string) (*Container, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var c Container
	if err := readJSON(filepath.Join(s.containerDir(id), "container.json"), &c); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
		}
		return nil, err
	}
	return &c, nil
}
