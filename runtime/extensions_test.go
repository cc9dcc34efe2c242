//go:build !hulllean

package runtime

import (
	"testing"

	"github.com/hullrt/hull/rootfs/image"
)

// The lean build names the image store's annotation itself (it cannot import rootfs/image).
func TestImageStoreAnnotationIsTheStores(t *testing.T) {
	if ImageStoreAnnotation != image.AnnotationStore {
		t.Fatalf("runtime.ImageStoreAnnotation %q, rootfs/image.AnnotationStore %q", ImageStoreAnnotation, image.AnnotationStore)
	}
}
