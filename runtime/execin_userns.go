package runtime

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/runtime/initproc"
	"github.com/hullrt/hull/runtime/stub"
)

// Exec into a container with a user namespace (see Exec): the stub joins that namespace
// itself, as its first step, because a Go thread cannot. These are the facts about the
// namespace that hull reads from the host's /proc before joining anything, and what they
// change in the exec'd process.

// userNS is what exec needs to know of a container's user namespace.
type userNS struct {
	denySetgroups    bool // its setgroups file says "deny": setgroups(2) fails inside
	rootUID, rootGID int  // the host ids of its root, -1 if unmapped
}

// readUserNS reads the user namespace of pid from the host's /proc.
func readUserNS(pid int) (*userNS, error) {
	u := &userNS{rootUID: -1, rootGID: -1}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/setgroups", pid))
	if err != nil {
		return nil, fmt.Errorf("user namespace of pid %d: %w", pid, err)
	}
	u.denySetgroups = strings.TrimSpace(string(b)) == "deny"
	for _, m := range []struct {
		file string
		id   *int
	}{{"uid_map", &u.rootUID}, {"gid_map", &u.rootGID}} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, m.file))
		if err != nil {
			return nil, fmt.Errorf("user namespace of pid %d: %w", pid, err)
		}
		*m.id = hostOfZero(string(b))
	}
	return u, nil
}

// hostOfZero is the host id that id 0 maps to in a uid_map or gid_map ("inside outside count"
// lines), or -1.
func hostOfZero(idMap string) int {
	for _, line := range strings.Split(idMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		out, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && err3 == nil && in == 0 && n > 0 {
			return int(out)
		}
	}
	return -1
}

// adapt fits the stub's program to the namespace. Inside it the stub holds every capability
// (setns(2) into a user namespace grants the full set there), so the process's capabilities
// are limited by the spec alone, as for the container's own process, not by what hull holds
// on the host.
func (u *userNS) adapt(prog *stub.Program, p *specs.Process) error {
	prog.SkipSetgroups = u.denySetgroups
	caps, err := initproc.CapsWithin(p.Capabilities, uint64(1)<<(prog.CapLastCap+1)-1)
	if err != nil {
		return err
	}
	prog.Caps = caps
	return nil
}

// ownPty gives the pty that hull opened for the process to the namespace's root: the kernel
// made it ours (the host's root), which the namespace does not map and shows as "nobody".
// Without a user namespace the same pty belongs to root inside as well.
func (u *userNS) ownPty(slave *os.File) error {
	if u.rootUID < 0 {
		return nil
	}
	if err := unix.Fchown(int(slave.Fd()), u.rootUID, -1); err != nil {
		return fmt.Errorf("chown pty to the container's root: %w", err)
	}
	return nil
}
