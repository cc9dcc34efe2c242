package stub

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ErrEnterSilent is ReceiveEntered's error when the stub closed the socket without a word: it
// died (its exit status says how) before it could send either.
var ErrEnterSilent = errors.New("the stub exited without starting the init")

// EnterFirstFD is the lowest fd the stub in enter mode treats as its own: fds 0-4 belong to
// the init it starts (stdio, the sync socket at 3, the console socket at 4) and pass through;
// every fd from here up is closed at the init's execve.
const EnterFirstFD = 5

// EnterArgv is the stub's command line in enter mode: join the namespaces at nsFDs (user
// first), become root of a joined user namespace, clone with cloneFlags (new namespaces only)
// as a child of our caller, and execute the program at exeFD there as `hull init`. exeFD and
// nsFDs are numbers in the stub, at least EnterFirstFD.
func EnterArgv(cloneFlags uintptr, exeFD int, nsFDs []int) []string {
	argv := []string{"hull-stub", "enter", strconv.FormatUint(uint64(cloneFlags), 10), strconv.Itoa(exeFD)}
	for _, fd := range nsFDs {
		argv = append(argv, strconv.Itoa(fd))
	}
	return argv
}

// ReceiveEntered reads the stub's one message in enter mode from c (the parent's end of the
// sync socket): "0" carrying a pidfd of the cloned init, or the stub's error line, which ends
// at EOF. The caller must have closed its copy of the child's end, so that a stub that dies
// without a word gives EOF rather than a hang.
func ReceiveEntered(c *net.UnixConn) (pidfd int, err error) {
	var b [1]byte
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.ReadMsgUnix(b[:], oob)
	if err != nil && !errors.Is(err, io.EOF) {
		return -1, fmt.Errorf("read from stub: %w", err)
	}
	fds, ferr := rights(oob[:oobn])
	if n == 1 && b[0] == '0' && ferr == nil && len(fds) == 1 {
		return fds[0], nil
	}
	for _, fd := range fds {
		unix.Close(fd)
	}
	if n == 0 {
		return -1, ErrEnterSilent
	}
	rest, _ := io.ReadAll(c)
	msg := strings.TrimPrefix(string(bytes.TrimSpace(append(b[:n], rest...))), "hull: ")
	if msg == "" || msg == "0" {
		return -1, errors.New("the stub sent no pidfd")
	}
	return -1, errors.New(msg)
}

func rights(oob []byte) ([]int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		f, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			return fds, err
		}
		fds = append(fds, f...)
	}
	return fds, nil
}
