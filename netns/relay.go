package netns

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// relayBin is hull-relay (relay/relay.c, built by relay/build.sh): a static C program of
// ≈20 KB that carries 127.0.0.1:PORT to GATEWAY:PORT, where the output chain DNATs it.
//
// Why a process, and why this one. The kernel will not route a connection from 127.0.0.1
// to a container without route_localnet (CVE-2020-8558: it also lets the bridge's
// neighbours reach the host's loopback services), and a cgroup/connect4 eBPF program that
// rewrites connect() on the host (Cilium's "socket LB") is the only kernel way around it;
// it needs cgroup2 and CAP_BPF, and it acts on every process of the cgroup tree, not one
// namespace, so hull does not use it. hull has no daemon of its own, so a published
// service gets one small relay process: ≈50 kB RSS (40 kB PSS) here against ≈1.9 MB for the
// smallest Go program, with one fork per TCP connection (splice(2) inside) and a flow
// table for UDP. It knows no endpoints, so changing a service's membership never touches
// it. A supervisor that runs as a daemon could carry this in-process instead.
//
//go:embed relay/relay.bin
var relayBin []byte

// relayProc identifies a running relay; Start (clock ticks since boot, /proc/PID/stat
// field 22) guards against pid reuse.
type relayProc struct {
	Pid   int    `json:"pid"`
	Start uint64 `json:"start"`
	Ports []Port `json:"ports"`
}

// startRelay binds 127.0.0.1:HostPort for every port (in the store's host namespace, so
// a taken port is an error here and now), starts hull-relay with the sockets, and waits
// for commit: only after commit(pid) returns nil is the relay told to run; if hull dies
// before that, the relay sees EOF on its go pipe and exits.
func (s *Store) startRelay(to netip.Addr, ports []Port, commit func(relayProc) error) (err error) {
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range ports {
		var fd int
		if err := inNS(int(s.hostNS), func() (err error) { fd, err = loopbackSocket(p); return err }); err != nil {
			return fmt.Errorf("publish %v on 127.0.0.1: %w", p, err)
		}
		files = append(files, os.NewFile(uintptr(fd), p.String()))
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer goW.Close()
	files = append(files, goR)

	mfd, err := unix.MemfdCreate("hull-relay", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return fmt.Errorf("memfd for hull-relay: %w", err)
	}
	bin := os.NewFile(uintptr(mfd), "hull-relay")
	files = append(files, bin)
	if _, err := bin.Write(relayBin); err != nil {
		return fmt.Errorf("memfd for hull-relay: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SEAL|unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK); err != nil {
		return fmt.Errorf("seal hull-relay: %w", err)
	}

	// ExtraFiles become fds 3, 4, ...: the listeners, then the go pipe.
	args := []string{"hull-relay", strconv.Itoa(3 + len(ports))}
	for i, p := range ports {
		args = append(args, fmt.Sprintf("%d:%c:%v:%d", 3+i, p.Proto[0], to, p.HostPort))
	}
	cmd := &exec.Cmd{
		Path:        fmt.Sprintf("/proc/self/fd/%d", mfd),
		Args:        args,
		ExtraFiles:  files[:len(ports)+1],
		Dir:         "/",
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}, // no terminal's signals reach it
	}
	// Forked from a thread in the host namespace, it connects to the gateway from there.
	if err := inNS(int(s.hostNS), func() error { return s.fork(cmd.Start) }); err != nil {
		return fmt.Errorf("start hull-relay: %w", err)
	}
	// No goroutine waits for it: it outlives this hull. stopRelay reaps it when hull is
	// still its parent (a long-lived supervisor); otherwise init does.
	defer cmd.Process.Release()
	s.rec.Step("exec", "hull-relay "+strings.Join(args[1:], " "), nil, 0)
	rp := relayProc{Pid: cmd.Process.Pid, Ports: ports}
	if rp.Start, err = procStartTime(rp.Pid); err == nil {
		err = commit(rp)
	}
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	if _, err := goW.Write([]byte{1}); err != nil {
		return fmt.Errorf("start hull-relay: %w", err)
	}
	return nil
}

// loopbackSocket makes a listening (TCP) or bound (UDP) socket on 127.0.0.1:HostPort in
// the calling thread's namespace. SO_REUSEADDR lets a restarted relay rebind a port whose
// old connections linger in TIME_WAIT; it does not let two live sockets share the port.
func loopbackSocket(p Port) (int, error) {
	typ := unix.SOCK_STREAM
	if p.Proto == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_INET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if typ == unix.SOCK_STREAM {
		err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	}
	if err == nil {
		err = unix.Bind(fd, &unix.SockaddrInet4{Port: int(p.HostPort), Addr: [4]byte{127, 0, 0, 1}})
	}
	if err == nil && typ == unix.SOCK_STREAM {
		err = unix.Listen(fd, 1024)
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// stopRelay kills the relay rp names, if it is still the same process. Its connections'
// children die with it (PR_SET_PDEATHSIG).
func (s *Store) stopRelay(rp *relayProc) error {
	if rp == nil || rp.Pid <= 0 {
		return nil
	}
	pidfd, err := unix.PidfdOpen(rp.Pid, 0)
	if err != nil {
		return nil // gone
	}
	defer unix.Close(pidfd)
	if st, err := procStartTime(rp.Pid); err != nil || st != rp.Start {
		return nil // gone, and the pid is someone else's now
	}
	err = s.step("pidfd_send_signal", fmt.Sprintf("SIGKILL hull-relay pid %d", rp.Pid), func() error {
		return unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
	})
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return err
	}
	// Wait until it is gone, so its ports are free when we return (a caller may publish
	// the same ports again at once).
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err = unix.Poll(fds, 5000)
		if err != unix.EINTR {
			break
		}
	}
	// Reap it if it is our child; ECHILD says it is not.
	_ = unix.Waitid(unix.P_PIDFD, pidfd, nil, unix.WEXITED|unix.WNOHANG, nil)
	return err
}

// procStartTime reads field 22 of /proc/PID/stat: when the process started, in clock ticks
// since boot. The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}
