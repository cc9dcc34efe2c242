package runtime

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The parent/init messages; doc.go draws the sequence. Each is one JSON line on the socketpair.
const (
	msgStep      = "step"      // init → parent: one kernel step, for --debug
	msgPlaced    = "placed"    // parent → init: you are in your cgroups now
	msgHooks     = "hooks"     // init → parent: namespaces exist, run prestart and createRuntime now
	msgHooksDone = "hooksDone" // parent → init: they ran
	msgReady     = "ready"     // init → parent: about to exec the stub
	msgError     = "error"     // init → parent: setup failed; Error says why
)

// bootstrap is everything the init needs, sent once after the parent placed it in its cgroup.
type bootstrap struct {
	ID       string      `json:"id"`
	Bundle   string      `json:"bundle"`
	Rootfs   string      `json:"rootfs"`
	Pid      int         `json:"pid"` // the init's pid as the host sees it, for hook state
	Spec     *specs.Spec `json:"spec"`
	NoPivot  bool        `json:"noPivot"`
	Debug    bool        `json:"debug"`
	Fifo     string      `json:"fifo"`
	Console  bool        `json:"console"` // fd 4 is a connected --console-socket
	InUserNS bool        `json:"inUserNS"`
	// CgroupDirs are the v1 cgroup directories the init moves its own thread into before
	// anything else (cgroups.JoinThread); empty when the parent moves it (place).
	CgroupDirs []string `json:"cgroupDirs,omitempty"`
	// LSM is what the host offers for process.apparmorProfile and selinuxLabel, read on the
	// host: after pivot_root the init may see no /sys.
	LSM hostLSM `json:"lsm"`
}

type message struct {
	Type  string        `json:"type"`
	Op    string        `json:"op,omitempty"`
	Args  string        `json:"args,omitempty"`
	Took  time.Duration `json:"took,omitempty"`
	Error string        `json:"error,omitempty"`
	// For steps: who takes it when not the init itself ("stub"), and whether it is only planned,
	// or skipped (asked for, but the host cannot).
	Source  string `json:"source,omitempty"`
	Planned bool   `json:"planned,omitempty"`
	Skipped bool   `json:"skipped,omitempty"`
}

// channel is one end of the socketpair.
type channel struct {
	mu  sync.Mutex // the parent sends from two goroutines: converse and the cgroup placement
	enc *json.Encoder
	dec *json.Decoder
}

func newChannel(c net.Conn) *channel {
	return &channel{enc: json.NewEncoder(c), dec: json.NewDecoder(bufio.NewReader(c))}
}

func (c *channel) send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(v); err != nil {
		return fmt.Errorf("send to init: %w", err)
	}
	return nil
}

// recv reads one message; io.EOF means the other side closed (for the parent: the stub replaced the init).
func (c *channel) recv(v any) error {
	err := c.dec.Decode(v)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return io.EOF
	}
	return err
}

// remoteRecorder is the init's Recorder: it forwards each step to the parent's logger.
type remoteRecorder struct {
	ch      *channel
	enabled bool
}

func (r remoteRecorder) Step(op, args string, err error, took time.Duration) {
	if !r.enabled {
		return
	}
	m := message{Type: msgStep, Op: op, Args: args, Took: took}
	if err != nil {
		m.Error = err.Error()
	}
	_ = r.ch.send(m) // narration is best effort; a lost step must not fail the container
}

// planned records a step another program takes later: the stub applies credentials, seccomp and
// execve at start, after the socket is gone, so the init reports what it handed the stub.
func (r remoteRecorder) planned(source string, steps []plannedStep) {
	if !r.enabled {
		return
	}
	for _, st := range steps {
		_ = r.ch.send(message{Type: msgStep, Op: st.op, Args: st.args, Source: source, Planned: !st.skipped, Skipped: st.skipped})
	}
}

func (r remoteRecorder) step(op, args string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	r.Step(op, args, err, time.Since(t0))
	return err
}
