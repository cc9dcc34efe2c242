package stub

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestPrepareRunsAsChild: the memfds from Prepare start the stub as an ordinary child process,
// the way hull exec uses them.
func TestPrepareRunsAsChild(t *testing.T) {
	p := Program{Path: "/bin/sh", Argv: []string{"sh", "-c", "echo child:$X"}, Env: []string{"X=42"}, FifoFD: -1}
	if err := currentIdentity(&p); err != nil {
		t.Fatal(err)
	}
	exe, prog, err := Prepare(p)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Close()
	defer prog.Close()
	cmd := exec.Command("/proc/self/fd/3")
	cmd.Args = Argv(4)
	cmd.ExtraFiles = []*os.File{exe, prog}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("stub as a child: %v, stderr %q", err, errb.String())
	}
	if out.String() != "child:42\n" {
		t.Fatalf("stdout %q", out.String())
	}
}
