package stub

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStubBinIsFresh catches a stub.bin that was not rebuilt after a change
// to csrc/stub.c or build.sh. stub.stamp records the hashes of the inputs and
// the compiler; the hashes are checked everywhere, and where the same
// compiler is installed the stub is rebuilt and compared byte for byte.
func TestStubBinIsFresh(t *testing.T) {
	stamp := readStamp(t)
	for _, f := range []string{"csrc/stub.c", "csrc/lsm.c", "csrc/enter.c", "csrc/await.c", "build.sh"} {
		if got := sha256File(t, f); got != stamp[f] {
			t.Errorf("%s changed since stub.bin was built (sha256 %s, stamp %s): run sh build.sh", f, got, stamp[f])
		}
	}
	if got := hexSum(stubBin); got != stamp["stub.bin"] {
		t.Errorf("stub.bin (sha256 %s) is not the one stub.stamp records (%s): run sh build.sh", got, stamp["stub.bin"])
	}

	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	version, err := exec.Command(cc, "--version").Output()
	if err != nil {
		t.Logf("no %s (%v): compared hashes only", cc, err)
		return
	}
	if have, _, _ := strings.Cut(string(version), "\n"); have != stamp["cc"] {
		t.Logf("stub.bin was built with %q, here is %q: compared hashes only", stamp["cc"], have)
		return
	}
	out := filepath.Join(t.TempDir(), "stub.bin")
	if b, err := exec.Command("sh", "build.sh", out).CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	rebuilt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, stubBin) {
		t.Errorf("rebuilding csrc/stub.c gives %d bytes (sha256 %s), embedded stub.bin is %d bytes (%s): run sh build.sh",
			len(rebuilt), hexSum(rebuilt), len(stubBin), hexSum(stubBin))
	}
}

// readStamp parses stub.stamp: lines of "<name> <value>".
func readStamp(t *testing.T) map[string]string {
	b, err := os.ReadFile("stub.stamp")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		m[k] = v
	}
	return m
}

func sha256File(t *testing.T, name string) string {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return hexSum(b)
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
