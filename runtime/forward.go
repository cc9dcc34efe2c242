package runtime

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals `hull run` and `hull exec` relay to the container's process while
// they wait for it in the foreground: the ones a terminal, a shell, a user or a supervisor sends
// to mean the container (HUP, INT, QUIT, TERM, USR1, USR2, ALRM, ABRT, CONT, TSTP), SIGPIPE
// (caught so a closed pipe does not kill hull; never relayed) and the fault signals, which cost
// nothing to catch (Go handles them already) and reach the container when a user sends them.
//
// Not relayed, unlike runc, which relays every signal:
//   - the ones the kernel sends to tell hull about hull: SIGXCPU and SIGXFSZ (its resource
//     limits), SIGVTALRM (its timers), SIGIO (its asynchronous I/O), SIGTTIN and SIGTTOU (it
//     used its terminal from a background job: they stop hull itself, as any background job;
//     relayed, they would stop the container for what hull did), SIGPWR (meant for init) and
//     SIGSTKFLT (unused by Linux). Go ignores the first five when not asked for them;
//   - SIGCHLD, SIGURG and SIGWINCH, which are hull's own (child bookkeeping, the Go runtime's
//     preemption, a terminal's resize, which tty.go handles), and the 30 real-time signals.
//
// The cost is why the list is short: Go enables each caught signal with a round trip to a
// thread of its own (runtime.sigenable: two thread switches each way, ≈35 µs in this VM). Every
// signal took 51 of them; the list of 25 that dropped the real-time ones, 19 (0.7 ms of CPU in
// a Go program that does nothing else, 300 runs); this list takes 11. A real-time signal sent
// to `hull run` is dropped; `hull kill ID RTMIN+3`, which is how Docker, podman and containerd
// signal a container, is not affected.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS,
	unix.SIGFPE, unix.SIGUSR1, unix.SIGSEGV, unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGTERM,
	unix.SIGCONT, unix.SIGTSTP, unix.SIGSYS,
}

// notifyForwarded is signal.Notify(c, forwarded...) in a goroutine; the returned channel closes
// when it is done. Each signal costs Go a round trip to its signal-mask thread (≈20 µs here):
// this overlaps them with the container's setup.
func notifyForwarded(c chan os.Signal) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		signal.Notify(c, forwarded...)
	}()
	return done
}

// forward relays the signals hull receives to the container's init, until done.
func (r *Runtime) forward(sigs chan os.Signal, pidfd int, done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case s := <-sigs:
			sig := s.(syscall.Signal)
			if sig == unix.SIGPIPE {
				continue // ours: a closed pipe hull wrote to
			}
			_ = unix.PidfdSendSignal(pidfd, sig, nil, 0)
		}
	}
}
