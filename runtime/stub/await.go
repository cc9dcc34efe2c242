package stub

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// AwaitArgv is the stub's command line for its "await" mode (csrc/await.c): it is the container's
// first process from the clone on, joins the cgroup v1 hierarchies whose tasks files it holds at
// tasksFDs, unshares a cgroup namespace if cgroupNS, says "p" on the sync socket at syncFD, and
// waits there for SendProgram. It marks every fd above stdio close-on-exec first (Linux 5.11).
// The numbers are the child's fds.
func AwaitArgv(syncFD int, cgroupNS bool, tasksFDs []int) []string {
	ns := "0"
	if cgroupNS {
		ns = "1"
	}
	argv := []string{"hull-stub", "await", strconv.Itoa(syncFD), ns}
	for _, fd := range tasksFDs {
		argv = append(argv, strconv.Itoa(fd))
	}
	return argv
}

// NoUmask leaves the awaiting stub's umask as it is.
const NoUmask = ^uint32(0)

// SendProgram hands an awaiting stub its program, its working directory (an fd opened inside the
// container's root; the stub fchdirs to it), its umask (NoUmask to leave it) and, if tty is not
// nil, the pty slave that becomes its stdio and controlling terminal. p.FifoFD is the fifo's
// number in the stub. The stub answers with the socket's EOF once it has let go of its parent
// (a failure arrives as its "hull: ..." line instead).
func SendProgram(sock int, p Program, cwd, tty *os.File, umask uint32) error {
	data, err := encodeProgram(p)
	if err != nil {
		return err
	}
	prog, err := sealedMemfd("hull-program", data, unix.MFD_NOEXEC_SEAL)
	if err != nil {
		return err
	}
	defer unix.Close(prog)
	var mask [4]byte
	binary.LittleEndian.PutUint32(mask[:], umask)
	fds := []int{prog, int(cwd.Fd())}
	if tty != nil {
		fds = append(fds, int(tty.Fd()))
	}
	if err := unix.Sendmsg(sock, mask[:], unix.UnixRights(fds...), nil, unix.MSG_NOSIGNAL); err != nil {
		return fmt.Errorf("stub: send program: %w", err)
	}
	return nil
}
