package early

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
)

// goDefault is GOMAXPROCS as Go set it at start-up: package variables are initialised before
// any init function runs, this file's included, so this is read before early's init.
var goDefault = runtime.GOMAXPROCS(0)

const childEnv = "HULL_EARLY_TEST_CHILD"

func TestOneProcThenParallel(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("the child of TestUserGOMAXPROCSKept")
	}
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set in the environment; TestUserGOMAXPROCSKept covers that case")
	}
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("after early's init GOMAXPROCS = %d, want 1", got)
	}
	Parallel()
	if got := runtime.GOMAXPROCS(0); got != goDefault {
		t.Fatalf("after Parallel GOMAXPROCS = %d, want Go's default %d", got, goDefault)
	}
}

// TestUserGOMAXPROCSKept runs this test binary again with GOMAXPROCS=3: neither the init nor
// Parallel may change what the user asked for.
func TestUserGOMAXPROCSKept(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		if got := runtime.GOMAXPROCS(0); got != 3 {
			t.Fatalf("after early's init GOMAXPROCS = %d, want the environment's 3", got)
		}
		Parallel()
		if got := runtime.GOMAXPROCS(0); got != 3 {
			t.Fatalf("after Parallel GOMAXPROCS = %d, want the environment's 3", got)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUserGOMAXPROCSKept$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", "GOMAXPROCS="+strconv.Itoa(3))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
