package stub

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// enterCmd runs the stub in enter mode with fd 3 the sync pipe's read end and fd 4 /bin/echo.
func enterCmd(t *testing.T, argv ...string) (*exec.Cmd, *os.File, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "stub")
	if err := os.WriteFile(bin, stubBin, 0o755); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Open("/bin/echo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); exe.Close() })
	cmd := exec.Command(bin)
	cmd.Args = append([]string{"hull-stub", "enter", "3", "4"}, argv...)
	cmd.ExtraFiles = []*os.File{r, exe}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, w, &out, &errb
}

// TestEnterWaitsThenExecs: enter mode runs nothing until the byte arrives, then becomes the
// program behind the exe fd with the remaining argv.
func TestEnterWaitsThenExecs(t *testing.T) {
	cmd, w, out, errb := enterCmd(t, "echo", "became", "the program")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if out.Len() != 0 {
		t.Fatal("the program ran before the go-ahead byte")
	}
	if _, err := w.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("enter: %v, stderr %q", err, errb)
	}
	if out.String() != "became the program\n" {
		t.Fatalf("stdout %q", out)
	}
}

// TestEnterParentGone: EOF on the sync fd (create died) ends the stub with a clear line.
func TestEnterParentGone(t *testing.T) {
	cmd, w, out, errb := enterCmd(t, "echo", "must not run")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 127 || out.Len() != 0 || !strings.Contains(errb.String(), "hull create went away") {
		t.Fatalf("exit %d (%v), stdout %q, stderr %q", code, err, out, errb)
	}
}

func TestEnterArgs(t *testing.T) {
	f, args, err := Enter(3, 5, "hull", "init")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := []string{"hull-stub", "enter", "3", "5", "hull", "init"}
	if strings.Join(args, " ") != strings.Join(want, " ") {
		t.Fatalf("args %q", args)
	}
	b := make([]byte, len(stubBin))
	if n, _ := f.ReadAt(b, 0); n != len(stubBin) || !bytes.Equal(b, stubBin) {
		t.Fatal("the memfd does not hold the stub")
	}
}
