// Command hull-init is the container's init alone: the same code as `hull init`
// (runtime/initproc), linked without the CLI, the image store, networking or
// containerd's cgroups library, so that the Go runtime and the package initialisers a
// container start pays for are only those the init uses. `make build` embeds it in hull
// (runtime/initbin); it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/hullrt/hull/runtime/initproc"
)

func main() { os.Exit(initproc.Main()) }
