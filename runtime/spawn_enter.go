package runtime

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/stub"
)

// A spec that joins an existing user or time namespace by path cannot have its init cloned by
// hull directly: only a single-threaded process may setns(2) into those, and the new namespaces
// must be created after joining the user namespace, so that it owns them (its root then has
// the capabilities to mount in them). So spawn starts the stub in "enter" mode instead of the
// init, from the thread that has joined the other kinds, and the stub, single-threaded and
// free of any runtime, does what Go cannot:
//
//	hull create (thread in the joined net/ipc/uts/pid/mount namespaces)
//	  └─ clone, execve(sealed stub memfd) "enter <flags> <exe> <userns-fd> [<timens-fd>]"
//	     (<exe>: the init's binary, hull-init or hull's own, as a read-only mount: hullExe)
//	       stub: setgroups(0), setns(user), setns(time), setresgid/setresuid(0),
//	             clone(CLONE_NEW* | CLONE_PARENT | CLONE_PIDFD)
//	       ├─ child (hull's child, thanks to CLONE_PARENT): setsid, execveat(<exe>) "hull init"
//	       └─ ── "0" + SCM_RIGHTS(pidfd) on the sync socket ──▶ hull; exit 0
//
// From there on the init is the same as in the usual path: hull's child, fds 3 and 4, the same
// protocol. The cost is one more exec (the stub, a few KB) and a clone: measured in doc.go.

// entry is the stub in enter mode while spawn starts it.
type entry struct {
	files      []*os.File // stub exe, init exe, namespace files: the child's fds 5, 6, 7...
	stubPidfd  int
	cloneFlags uintptr
}

// entryFor rewrites cmd, the init's command, to go through the stub when the spec joins a
// user or time namespace that is not already ours. It returns nil when the usual path will do.
func (r *Runtime) entryFor(cmd *exec.Cmd, l *specs.Linux) (e *entry, err error) {
	nss, _, err := openAlone(namespaces.ToJoinAlone(l.Namespaces))
	if err != nil || len(nss) == 0 {
		return nil, err
	}
	e = &entry{stubPidfd: -1, cloneFlags: cmd.SysProcAttr.Cloneflags}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if cmd.SysProcAttr.Cloneflags&unix.CLONE_NEWUSER != 0 {
		for _, f := range nss {
			f.Close()
		}
		return nil, errors.New("joining a time namespace by path with a new user namespace is not supported")
	}
	exe, err := stub.Exe()
	if err != nil {
		return nil, err
	}
	e.files = append(e.files, exe)
	self, err := r.hullExe()
	if err != nil {
		for _, f := range nss {
			f.Close()
		}
		return nil, err
	}
	e.files = append(e.files, self)
	first := len(cmd.ExtraFiles) + 3
	if first != stub.EnterFirstFD {
		panic(fmt.Sprintf("runtime: the init's fds end at %d, the stub's enter mode expects %d", first, stub.EnterFirstFD))
	}
	var nsFDs []int
	for i, f := range nss {
		nsFDs = append(nsFDs, first+2+i)
		e.files = append(e.files, f)
	}
	cmd.Path = "/proc/self/fd/" + strconv.Itoa(first)
	cmd.Args = stub.EnterArgv(e.cloneFlags, first+1, nsFDs)
	cmd.ExtraFiles = append(cmd.ExtraFiles, e.files...)
	cmd.SysProcAttr.Cloneflags = 0
	cmd.SysProcAttr.PidFD = &e.stubPidfd
	return e, nil
}

// what narrates the entry for --debug.
func (e *entry) what() string {
	return fmt.Sprintf("stub enter: setns %s, clone(%s|CLONE_PARENT|CLONE_PIDFD) hull init",
		strings.Join(e.kinds(), ", "), namespaces.Describe(e.cloneFlags))
}

func (e *entry) kinds() []string {
	var out []string
	for _, f := range e.files[2:] {
		out = append(out, f.Name()) // the namespace file's path
	}
	return out
}

// receive takes the init's pidfd from the stub and reaps the stub. The init is our child: the
// stub cloned it with CLONE_PARENT, so we wait for it as for one we cloned ourselves.
func (e *entry) receive(r *Runtime, conn net.Conn, cmd *exec.Cmd) (pid, pidfd int, err error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		panic("runtime: the sync socket is not a unix socket")
	}
	t0 := time.Now()
	pidfd, err = stub.ReceiveEntered(uc)
	werr := cmd.Wait()
	r.Step("recvmsg", "SCM_RIGHTS pidfd of hull init ← stub", err, time.Since(t0))
	if err != nil {
		if werr != nil && errors.Is(err, stub.ErrEnterSilent) {
			err = fmt.Errorf("%w (%v)", err, werr)
		}
		return 0, -1, err
	}
	defer func() {
		if err != nil {
			_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			unix.Close(pidfd)
		}
	}()
	if pid, err = pidfdPid(pidfd); err != nil {
		return 0, -1, err
	}
	return pid, pidfd, nil
}

func (e *entry) close() {
	for _, f := range e.files {
		f.Close()
	}
	if e.stubPidfd >= 0 {
		unix.Close(e.stubPidfd)
	}
}

// fifoToJoinedRoot gives the exec fifo to the root of a user namespace the spec joins by path,
// which the stub is when it reopens the fifo for writing. makeFifo could only go by the spec's
// mappings, and a joined namespace has none there; its maps are read from the init, inside now.
func (r *Runtime) fifoToJoinedRoot(st *State) error {
	if len(namespaces.ToJoinAlone(st.Spec.Linux.Namespaces)) == 0 || !namespaces.Has(st.Spec.Linux.Namespaces, specs.UserNamespace) ||
		namespaces.IsNew(st.Spec.Linux.Namespaces, specs.UserNamespace) {
		return nil
	}
	u, err := readUserNS(st.Pid)
	if err != nil {
		return err
	}
	if u.rootUID < 0 || u.rootGID < 0 {
		return nil // the stub could not have become its root: the init fails and says so
	}
	path := r.fifo(st.ID)
	if err := r.step("chown", fmt.Sprintf("%s %d:%d (the joined user namespace's root)", path, u.rootUID, u.rootGID), func() error {
		return os.Chown(path, u.rootUID, u.rootGID)
	}); err != nil {
		return fmt.Errorf("exec fifo: %w", err)
	}
	return nil
}

// openAlone opens the user and time namespaces to join, checking their types, and leaves out
// a user namespace that is already ours (setns(2) would refuse it). user says whether the
// files include a user namespace (then it is the first).
func openAlone(nss []specs.LinuxNamespace) (files []*os.File, user bool, err error) {
	defer func() {
		if err != nil {
			for _, f := range files {
				f.Close()
			}
		}
	}()
	for _, ns := range nss {
		f, err := namespaces.Open(ns)
		if err != nil {
			return files, false, err
		}
		if ns.Type == specs.UserNamespace {
			ours, err := namespaces.Ours(f, ns.Type)
			if err != nil || ours {
				f.Close()
				if err != nil {
					return files, false, err
				}
				continue
			}
			user = true
		}
		files = append(files, f)
	}
	return files, user, nil
}

// hullExe opens the init's binary for the stub to execute: hull-init (initExe) or hull's own,
// through a detached read-only bind mount of it, so the init's /proc/<pid>/exe leads to a
// read-only mount: a process of a shared user and pid namespace that reaches the init before it
// becomes the stub cannot open the binary for writing (CVE-2019-5736). Where that fails
// (kernels before 5.12 lack mount_setattr; a binary on an internal mount, a memfd say, cannot be
// bound) the init gets the plain binary, as in the usual path, and --debug says so.
func (r *Runtime) hullExe() (*os.File, error) {
	if f := r.initExe(true); f != nil {
		return f, nil
	}
	if f, err := r.readOnlyClone(unix.AT_FDCWD, "/proc/self/exe", "hull"); err == nil {
		return f, nil
	}
	f, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open hull's binary: %w", err)
	}
	return f, nil
}

// pidfdPid is the pid a pidfd refers to, as our pid namespace numbers it (its fdinfo "Pid:").
func pidfdPid(pidfd int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", pidfd))
	if err != nil {
		return 0, fmt.Errorf("pidfd info: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			pid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || pid <= 0 {
				return 0, fmt.Errorf("pidfd info: pid %q: the init is gone", strings.TrimSpace(v))
			}
			return pid, nil
		}
	}
	return 0, errors.New("pidfd info: no Pid line (kernel before 5.2?)")
}
