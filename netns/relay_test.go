package netns

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

// TestRelayBinIsFresh catches a relay.bin that was not rebuilt after a change to relay.c
// or build.sh: relay.stamp records the hashes of the inputs and of the output; where the
// same compiler is installed, relay.c is rebuilt and compared byte for byte.
func TestRelayBinIsFresh(t *testing.T) {
	b, err := os.ReadFile("relay/relay.stamp")
	if err != nil {
		t.Fatal(err)
	}
	stamp := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		stamp[k] = v
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	for _, f := range []string{"relay.c", "build.sh"} {
		b, err := os.ReadFile(filepath.Join("relay", f))
		if err != nil {
			t.Fatal(err)
		}
		if got := sum(b); got != stamp[f] {
			t.Errorf("relay/%s changed since relay.bin was built (sha256 %s, stamp %s): run sh netns/relay/build.sh", f, got, stamp[f])
		}
	}
	if got := sum(relayBin); got != stamp["relay.bin"] {
		t.Errorf("embedded relay.bin (sha256 %s) is not the one relay.stamp records (%s)", got, stamp["relay.bin"])
	}
	cc, err := exec.LookPath("musl-gcc")
	if err != nil || !strings.HasPrefix(stamp["cc"], "musl-gcc ") {
		t.Logf("no musl-gcc here (or relay.bin was built with %q): compared hashes only", stamp["cc"])
		return
	}
	version, _ := exec.Command("gcc", "--version").Output()
	if have, _, _ := strings.Cut(string(version), "\n"); "musl-gcc "+have != stamp["cc"] {
		t.Logf("relay.bin was built with %q, here is %q: compared hashes only", stamp["cc"], have)
		return
	}
	out := filepath.Join(t.TempDir(), "relay.bin")
	cmd := exec.Command("sh", "relay/build.sh", out)
	cmd.Env = append(os.Environ(), "CC="+cc)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, b)
	}
	rebuilt, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rebuilt, relayBin) {
		t.Errorf("rebuilding relay.c gives %d bytes (sha256 %s), embedded relay.bin has %d: run sh netns/relay/build.sh", len(rebuilt), sum(rebuilt), len(relayBin))
	}
}
