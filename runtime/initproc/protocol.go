package initproc

//go:generate sh ../specjson/gen.sh . protocol.go -disallow_unknown_fields

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/mailru/easyjson/jlexer"
	"github.com/mailru/easyjson/jwriter"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/specjson"
)

// The parent/init messages; doc.go draws the sequence. Each is one JSON line on the socketpair.
const (
	MsgStep      = "step"      // init → parent: one kernel step, for --debug
	MsgPlaced    = "placed"    // parent → init: you are in your cgroups now
	MsgHooks     = "hooks"     // init → parent: namespaces exist, run prestart and createRuntime now
	MsgHooksDone = "hooksDone" // parent → init: they ran
	MsgReady     = "ready"     // init → parent: about to exec the stub
	MsgError     = "error"     // init → parent: setup failed; Error says why
)

// SourceStub is the source of the steps the init reports for the stub (runtime.SourceStub).
const SourceStub = "stub"

// Bootstrap is everything the init needs, sent once after the parent placed it in its cgroup.
//
//easyjson:json
type Bootstrap struct {
	ID     string `json:"id"`
	Bundle string `json:"bundle"`
	Rootfs string `json:"rootfs"`
	Pid    int    `json:"pid"` // the init's pid as the host sees it, for hook state
	// Spec travels on a line of its own, in package specjson's encoding (SendBootstrap).
	Spec     *specs.Spec `json:"-"`
	NoPivot  bool        `json:"noPivot"`
	Debug    bool        `json:"debug"`
	Fifo     string      `json:"fifo"`
	Console  bool        `json:"console"` // fd 4 is a connected --console-socket
	InUserNS bool        `json:"inUserNS"`
	// CgroupDirs are the v1 cgroup directories the init moves its own thread into before
	// anything else (v1thread.Join); empty when the parent moves it (place).
	CgroupDirs []string `json:"cgroupDirs,omitempty"`
	// LSM is what the host offers for process.apparmorProfile and selinuxLabel, read on the
	// host: after pivot_root the init may see no /sys.
	LSM HostLSM `json:"lsm"`
}

// Message is every other message, either way.
//
//easyjson:json
type Message struct {
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

// Channel is one end of the socketpair: JSON lines, encoded and decoded by code easyjson
// generated (protocol_easyjson.go, by ../specjson/gen.sh). encoding/json's first use of a type
// builds its tables by reflection, and both ends are fresh processes: the bootstrap and the
// messages cost the init ≈0.35 ms of CPU that way and the parent ≈0.2 ms (perf, 150 runs).
type Channel struct {
	mu sync.Mutex // the parent sends from two goroutines: converse and the cgroup placement
	w  io.Writer
	r  *bufio.Reader
}

// NewChannel wraps one end of the socketpair.
func NewChannel(c io.ReadWriter) *Channel {
	return &Channel{w: c, r: bufio.NewReader(c)}
}

// Send writes one message.
func (c *Channel) Send(m Message) error {
	var w jwriter.Writer
	m.MarshalEasyJSON(&w)
	return c.send(&w)
}

// SendBootstrap writes the bootstrap: a line of its fields, then a line of its spec.
func (c *Channel) SendBootstrap(b Bootstrap) error {
	var w jwriter.Writer
	b.MarshalEasyJSON(&w)
	w.RawByte('\n')
	spec, err := specjson.Marshal(b.Spec)
	w.Raw(spec, err)
	return c.send(&w)
}

func (c *Channel) send(w *jwriter.Writer) error {
	w.RawByte('\n')
	b, err := w.BuildBytes()
	if err == nil {
		c.mu.Lock()
		_, err = c.w.Write(b)
		c.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("send to init: %w", err)
	}
	return nil
}

// Recv reads one message; io.EOF means the other side closed (for the parent: the stub replaced
// the init).
func (c *Channel) Recv(m *Message) error {
	line, err := c.line()
	if err != nil {
		return err
	}
	*m = Message{}
	return decode(line, m.UnmarshalEasyJSON)
}

// RecvBootstrap reads what SendBootstrap wrote.
func (c *Channel) RecvBootstrap(b *Bootstrap) error {
	line, err := c.line()
	if err != nil {
		return err
	}
	*b = Bootstrap{}
	if err := decode(line, b.UnmarshalEasyJSON); err != nil {
		return err
	}
	if line, err = c.line(); err != nil {
		return err
	}
	if string(line) == "null" {
		return nil
	}
	b.Spec = new(specs.Spec)
	return specjson.Unmarshal(line, b.Spec)
}

// line reads one line, without its newline; a line cut short by EOF is EOF.
func (c *Channel) line() ([]byte, error) {
	b, err := c.r.ReadBytes('\n')
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, err
	}
	return b[:len(b)-1], nil
}

func decode(line []byte, fn func(*jlexer.Lexer)) error {
	l := jlexer.Lexer{Data: line}
	fn(&l)
	return l.Error()
}

// remoteRecorder is the init's Recorder: it forwards each step to the parent's logger.
type remoteRecorder struct {
	ch      *Channel
	enabled bool
}

func (r remoteRecorder) Step(op, args string, err error, took time.Duration) {
	if !r.enabled {
		return
	}
	m := Message{Type: MsgStep, Op: op, Args: args, Took: took}
	if err != nil {
		m.Error = err.Error()
	}
	_ = r.ch.Send(m) // narration is best effort; a lost step must not fail the container
}

// planned records a step another program takes later: the stub applies credentials, seccomp and
// execve at start, after the socket is gone, so the init reports what it handed the stub.
func (r remoteRecorder) planned(source string, steps []PlannedStep) {
	if !r.enabled {
		return
	}
	for _, st := range steps {
		_ = r.ch.Send(Message{Type: MsgStep, Op: st.Op, Args: st.Args, Source: source, Planned: !st.Skipped, Skipped: st.Skipped})
	}
}

func (r remoteRecorder) step(op, args string, fn func() error) error {
	t0 := time.Now()
	err := fn()
	r.Step(op, args, err, time.Since(t0))
	return err
}
