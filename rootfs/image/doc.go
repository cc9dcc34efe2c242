// Package image is hull's image store: it pulls and imports OCI and Docker images, unpacks
// each layer once, and gives every container a fresh copy-on-write root made of them.
//
// # What the kernel provides
//
// overlayfs(5) (Documentation/filesystems/overlayfs.rst) merges directories: mount -t overlay
// with lowerdir=A:B (read-only, A on top), upperdir=U and workdir=W (scratch space on U's
// filesystem) shows the union; writes copy a file up into U first. Deleting a lower file leaves
// a "whiteout" in U, a character device 0/0; a directory whose lower contents are hidden carries
// the xattr trusted.overlay.opaque=y. Those are exactly the OCI layer format's ".wh.NAME" and
// ".wh..wh..opq" entries (image-spec layer.md), so an unpacked layer with its whiteouts written
// in overlayfs' format is a lowerdir as it is, shared by every container of every image that
// has it. mknod of the 0/0 device and trusted.* xattrs need root; without root a layer is still
// unpacked (whiteouts kept in layer.json) and containers get a copy instead of a mount.
//
// openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS opens a path below a directory
// descriptor and fails if any component is a symlink or ".." leaves it: the extractor opens
// every parent directory that way and creates each entry with the *at system calls relative to
// it, so no tar entry (absolute name, "../", symlink or hard link pointing out, symlink planted
// earlier in the same layer) can write outside the layer directory. flock(2) locks the store
// between hull processes.
//
// # How hull uses it
//
// go-containerregistry speaks the registry protocol (token auth, ~/.docker/config.json through
// authn.DefaultKeychain, Docker Hub defaults, manifest lists) and reads OCI layouts and Docker
// archives; this package never hand-writes registry requests. Everything else is here: each
// layer blob is read once, hashed as shipped, decompressed (gzip or zstd), hashed again and
// unpacked into tmp/, several layers at once; only when both digests match the manifest and
// the config does the directory move into layers/ with one rename(2), so a corrupt or truncated
// layer never appears in the store. Store documents the on-disk layout and the locks.
//
// For a container, Prepare mounts the layers (top first) as lowerdirs with the container's own
// upper and work directories, or copies them in order (whiteouts applied, through the same
// extractor) where overlayfs cannot be mounted. Spec turns the image config into the process
// of a runtime config built on hull's defaults (image-spec conversion.md: Entrypoint + Cmd,
// Env, WorkingDir, User looked up in the container's own /etc/passwd, Labels, ExposedPorts
// and StopSignal as annotations) with the user's overrides.
//
// The Go API, for the CLI and the supervisor (in-process):
//
//	st, _ := image.Open(image.DefaultDir, log)          // /var/lib/hull/images
//	img, _ := st.Pull(ctx, "busybox:1.36", image.Options{})   // or st.Import(ctx, path, name, opts)
//	c, _ := st.Prepare(ctx, "busybox:1.36", "web-1", image.Options{}) // pulls if missing
//	spec, _ := image.Spec(runtime.DefaultSpec(false), c, image.Overrides{Env: []string{"A=1"}})
//	// write spec to c.Bundle/config.json, then runtime Create with Bundle: c.Bundle
//	st.Release("web-1")                                  // unmount and remove; idempotent
//	st.List(); st.Get(ref); st.Tag(ref, name); st.Remove(ref, force); st.Prune()
//
// The config Spec writes carries the annotation org.hullrt.image.store, and `hull delete`
// releases the root of a container whose bundle is that store's containers/ID directory, so a
// container made by `hull run --image` leaves nothing when deleted. Release is idempotent, so a
// supervisor may call it after a runtime delete too.
//
// # Try it by hand
//
//	hull image pull busybox && hull run --image busybox demo echo hi && hull image ls
//
// # Not covered
//
// Pushing and saving images, image building, signatures, Config.Volumes (no volumes are made),
// foreign (Windows) layers, lazy pulling, and idmapped layers for user namespaces. Compressed
// layer blobs are not kept once unpacked (as Docker's overlay2 store does not); manifests and
// configs are. Plain HTTP is allowed only to localhost and loopback registries.
//
// Next stop: package netns, which gives the container a network.
package image
