//go:build !hulllean

package main

import (
	"testing"

	"github.com/hullrt/hull/rootfs/image"
	"github.com/hullrt/hull/supervisor"
)

func TestDefaultsAreTheOwners(t *testing.T) {
	if defaultImageDir != image.DefaultDir {
		t.Errorf("defaultImageDir %q, image.DefaultDir %q", defaultImageDir, image.DefaultDir)
	}
	if defaultSocket != supervisor.DefaultSocket {
		t.Errorf("defaultSocket %q, supervisor.DefaultSocket %q", defaultSocket, supervisor.DefaultSocket)
	}
}
