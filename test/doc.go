// Package test holds hull's end-to-end tests: they build the real binary and drive it through
// its command line as podman, containerd or a person would, then read the result from inside the
// container and from the host's kernel files. They need root and the `integration` build tag:
//
//	sudo go test -tags integration ./test/
//
// Every test runs in its own state root and under its own cgroup parent, and a leak check after
// each proves nothing is left: no state dir, mount, cgroup or process.
package test
