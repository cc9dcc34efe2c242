package runtime

import (
	"errors"
	"path/filepath"
)

// NetworkAnnotation names the hull network a container joins. It is hull's own extension: an
// OCI bundle only names a network namespace, and podman, containerd and Docker, which wire their
// own networks, never set it, so runc's verbs behave for them exactly as runc's do.
const NetworkAnnotation = "org.hullrt.network"

// PublishAnnotation lists the ports a container on a hull network publishes on the host, in
// Docker's short syntax: "8080:80,5353:53/udp" (see netns.ParsePorts). They become a netns
// service of one endpoint, named by ServiceName, removed with the container.
const PublishAnnotation = "org.hullrt.publish"

// DefaultNetworkDir is where networks and address leases live unless --network-dir says otherwise.
const DefaultNetworkDir = "/var/lib/hull/networks"

// ImageStoreAnnotation names the image store that made a container's root (hull run --image);
// the same string as rootfs/image.AnnotationStore, which the lean build cannot import (a test
// of the full build checks they agree).
const ImageStoreAnnotation = "org.hullrt.image.store"

// ErrNeedsFullHull is what the lean build of the runtime (build tag hulllean: `make build`'s
// bin/hull, which links neither hull's networks nor its image store, the bulk of hull's
// start-up cost) returns, before changing anything, for a container that uses either: cmd/hull
// then hands the whole command to the full hull it carries. A full build never returns it.
var ErrNeedsFullHull = errors.New("this container uses a hull network or image store, which this lean hull leaves to the full one")

// imageStoreOf returns the image store that holds s's root, or "": only a container whose
// bundle is the store's own directory for it qualifies, for the annotation alone, which any
// config.json can carry, must never make delete touch a store.
func imageStoreOf(s *State) string {
	dir := s.Spec.Annotations[ImageStoreAnnotation]
	if dir == "" || !filepath.IsAbs(dir) || s.Bundle != filepath.Join(dir, "containers", s.ID) {
		return ""
	}
	return dir
}
