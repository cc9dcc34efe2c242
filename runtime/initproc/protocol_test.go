package initproc

import (
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// pipe is a Channel pair over an in-memory connection.
func pipe(t *testing.T) (*Channel, *Channel, net.Conn) {
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewChannel(a), NewChannel(b), a
}

// The bootstrap and the messages arrive as sent, the spec too (on its own line, through
// package specjson), strings with newlines included.
func TestChannelRoundTrip(t *testing.T) {
	in := Bootstrap{ID: "c", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, Debug: true, Fifo: "/f",
		CgroupDirs: []string{"/sys/fs/cgroup/pids/x"}, LSM: HostLSM{AppArmor: "attr/apparmor/exec", SELinux: true},
		Spec: &specs.Spec{Version: "1.2.0", Hostname: "h", Process: &specs.Process{Args: []string{"sh", "-c", "echo a\necho b"}, Env: []string{"A=1"}},
			Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}, Sysctl: map[string]string{"a": "1", "b": "2"}}}}
	msgs := []Message{
		{Type: MsgStep, Op: "mount", Args: "proc on /proc\nsecond line", Took: 1500 * time.Microsecond, Error: "exit status 1"},
		{Type: MsgStep, Op: "execve", Source: SourceStub, Planned: true, Skipped: true},
		{Type: MsgReady},
	}
	parent, child, _ := pipe(t)
	go func() {
		_ = parent.SendBootstrap(in)
		_ = parent.SendBootstrap(Bootstrap{ID: "x"}) // no spec
		for _, m := range msgs {
			_ = parent.Send(m)
		}
	}()
	var out, none Bootstrap
	if err := child.RecvBootstrap(&out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("bootstrap:\n%+v\nwant\n%+v", out, in)
	}
	if err := child.RecvBootstrap(&none); err != nil || none.Spec != nil || none.ID != "x" {
		t.Errorf("a bootstrap without a spec: %+v, %v", none, err)
	}
	for _, want := range msgs {
		m := Message{Op: "stale"}
		if err := child.Recv(&m); err != nil {
			t.Fatal(err)
		}
		if m != want {
			t.Errorf("message %+v, want %+v", m, want)
		}
	}
}

// The other side closing, before a line or in the middle of one, is io.EOF: for the parent,
// the stub replaced the init.
func TestChannelEOF(t *testing.T) {
	for _, partial := range []string{"", `{"type":"rea`} {
		_, child, conn := pipe(t)
		go func() {
			_, _ = conn.Write([]byte(partial))
			conn.Close()
		}()
		var m Message
		if err := child.Recv(&m); !errors.Is(err, io.EOF) {
			t.Errorf("after %q and close: %v, want io.EOF", partial, err)
		}
	}
}

// A line that is not a message fails the receive (a parent and an init of different builds).
func TestChannelRejectsUnknown(t *testing.T) {
	_, child, conn := pipe(t)
	go func() { _, _ = conn.Write([]byte(`{"type":"ready","color":"red"}` + "\n")) }()
	var m Message
	if err := child.Recv(&m); err == nil {
		t.Errorf("a message with an unknown field was accepted: %+v", m)
	}
}
