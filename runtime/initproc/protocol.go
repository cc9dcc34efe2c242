package initproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

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
type Bootstrap struct {
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
	// anything else (v1thread.Join); empty when the parent moves it (place).
	CgroupDirs []string `json:"cgroupDirs,omitempty"`
	// LSM is what the host offers for process.apparmorProfile and selinuxLabel, read on the
	// host: after pivot_root the init may see no /sys.
	LSM HostLSM `json:"lsm"`
}

// MarshalJSON sends the spec as package specjson writes it: encoding/json's first use of the
// spec's ≈80 types would cost the init ≈0.7 ms of CPU (specjson says why); the rest is
// encoding/json's, the spec field shadowed by a raw one.
// A value receiver: the parent sends a Bootstrap, not a pointer to one.
func (b Bootstrap) MarshalJSON() ([]byte, error) {
	type plain Bootstrap // no methods: this one would recurse
	spec, err := specjson.Marshal(b.Spec)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		*plain
		Spec json.RawMessage `json:"spec"`
	}{(*plain)(&b), spec})
}

// UnmarshalJSON is MarshalJSON's reverse.
func (b *Bootstrap) UnmarshalJSON(data []byte) error {
	type plain Bootstrap
	var w struct {
		*plain
		Spec json.RawMessage `json:"spec"`
	}
	w.plain = (*plain)(b)
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	b.Spec = nil
	if len(w.Spec) > 0 && string(w.Spec) != "null" {
		b.Spec = new(specs.Spec)
		return specjson.Unmarshal(w.Spec, b.Spec)
	}
	return nil
}

// Message is every other message, either way.
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

// Channel is one end of the socketpair.
type Channel struct {
	mu  sync.Mutex // the parent sends from two goroutines: converse and the cgroup placement
	enc *json.Encoder
	dec *json.Decoder
}

// NewChannel wraps one end of the socketpair.
func NewChannel(c net.Conn) *Channel {
	return &Channel{enc: json.NewEncoder(c), dec: json.NewDecoder(bufio.NewReader(c))}
}

// Send writes one message (Bootstrap or Message) as a JSON line.
func (c *Channel) Send(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(v); err != nil {
		return fmt.Errorf("send to init: %w", err)
	}
	return nil
}

// Recv reads one message; io.EOF means the other side closed (for the parent: the stub replaced the init).
func (c *Channel) Recv(v any) error {
	err := c.dec.Decode(v)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return io.EOF
	}
	return err
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
