// Package clients proves hull is a drop-in OCI runtime for the real clients: podman (through
// conmon), containerd's ctr and docker (through containerd-shim-runc-v2). Each test drives the
// client's own command line against hull, on private state (the client's root, run and config
// directories in a temp dir, its own cgroup parent, no registry, no network), and reads the results
// from the containers and from the host's kernel files. The argv each client passes to a runtime
// is written down in /work/shared/reference/runtime-cli-contract.md.
//
// The tests need root, the `integration` tag and the Debian packages `make deps` installs:
//
//	go test -tags integration -count=1 ./test/clients/
//
// CLIENT_RUNTIME=/usr/sbin/runc runs the same tests against runc, which shows they test something.
package clients
