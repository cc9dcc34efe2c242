package main

// Defaults of global flags that belong to hull's own verbs; rootfs/image and supervisor own
// them, but the lean hull (lean.go) links neither and must still parse the flags it hands on.
// A test of the full build checks they agree.
const (
	defaultImageDir = "/var/lib/hull/images"
	defaultSocket   = "/run/hull/hull.sock"
)
