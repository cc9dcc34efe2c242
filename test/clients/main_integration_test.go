//go:build integration

package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hullrt/hull/test/internal/hosttest"
)

var (
	// hullBin is hull built from this tree (HULL_BIN overrides it).
	hullBin string
	// clientRuntime is the runtime the clients drive: hull, unless CLIENT_RUNTIME names another
	// (CLIENT_RUNTIME=/usr/sbin/runc runs the same tests against runc, to prove the tests).
	clientRuntime string
	// imageTar is a docker-archive of a busybox-static rootfs, tagged imageRef: `docker load` and
	// `ctr images import` both read it.
	imageTar string
)

func TestMain(m *testing.M) {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the client tests need root")
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "hull-clients-")
	if err != nil {
		panic(err)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if hullBin, err = hosttest.Hull(dir, "../../cmd/hull"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		clientRuntime = os.Getenv("CLIENT_RUNTIME")
		if clientRuntime == "" {
			clientRuntime = hullBin
		}
		imageTar = filepath.Join(dir, "busybox.tar")
		if err := writeImage(imageTar); err != nil {
			fmt.Fprintln(os.Stderr, "busybox image:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}
