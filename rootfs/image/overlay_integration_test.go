//go:build integration

package image

import (
	"os"
	"testing"
)

// The whiteout image through overlayfs: layers unpacked as root (whiteouts as 0/0 devices,
// opaque xattrs) mounted as lowerdirs. Fails without root, like every integration test.
func TestPrepareOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root: overlayfs mounts and overlay-format whiteouts")
	}
	checkPrepare(t, "overlay")
}
