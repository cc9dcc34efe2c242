package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ParseSignal accepts what runc's kill does: a number ("9"), a name with or without SIG
// ("KILL", "SIGKILL", any case), and real-time names like "RTMIN+3".
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	for _, base := range []struct {
		prefix string
		num    int
		dir    int
	}{{"SIGRTMIN", 34, 1}, {"SIGRTMAX", 64, -1}} {
		if rest, ok := strings.CutPrefix(name, base.prefix); ok {
			off := 0
			if rest != "" {
				n, err := strconv.Atoi(strings.TrimLeft(rest, "+-"))
				if err != nil || (rest[0] != '+' && rest[0] != '-') {
					return 0, fmt.Errorf("invalid signal %q", s)
				}
				off = n
				if rest[0] == '-' {
					off = -n
				}
			}
			if n := base.num + off; n >= 34 && n <= 64 {
				return unix.Signal(n), nil
			}
		}
	}
	return 0, fmt.Errorf("invalid signal %q", s)
}
