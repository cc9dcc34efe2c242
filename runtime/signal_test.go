package runtime

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"9":           unix.SIGKILL,
		"15":          unix.SIGTERM,
		"10":          unix.SIGUSR1,
		"64":          unix.Signal(64),
		"KILL":        unix.SIGKILL,
		"SIGKILL":     unix.SIGKILL,
		"kill":        unix.SIGKILL,
		"sigterm":     unix.SIGTERM,
		"TERM":        unix.SIGTERM,
		"SIGUSR2":     unix.SIGUSR2,
		"SIGRTMIN":    unix.Signal(34),
		"SIGRTMIN+3":  unix.Signal(37),
		"RTMIN+3":     unix.Signal(37),
		"rtmin+3":     unix.Signal(37),
		"RTMAX":       unix.Signal(64),
		"RTMAX-1":     unix.Signal(63),
		"SIGRTMAX-30": unix.Signal(34),
	} {
		got, err := ParseSignal(in)
		if err != nil || got != want {
			t.Errorf("ParseSignal(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"0", "65", "-1", "FOO", "SIGFOO", "", "RTMIN+31", "RTMAX+1", "RTMIN-1", "RTMIN3", "RTMIN+x", "9x"} {
		if got, err := ParseSignal(in); err == nil {
			t.Errorf("ParseSignal(%q) = %d, want an error", in, got)
		}
	}
}
