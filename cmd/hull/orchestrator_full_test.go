//go:build !hulllean

package main

import (
	"context"
	"os"
	goruntime "runtime"
	"testing"

	"github.com/hullrt/hull/runtime/sysmon/early"
)

// hull's own verbs (the daemon, image pulls) run with every CPU, runc's on one P.
func TestOrchestratorVerbsGetEveryCPU(t *testing.T) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		t.Skip("GOMAXPROCS is set in the environment, and hull keeps it for every verb")
	}
	early.Parallel()
	want := goruntime.GOMAXPROCS(1) // Go's default (or the environment's), and one P from here
	defer goruntime.GOMAXPROCS(want)
	var got int
	verb := parallel(func(context.Context, *env, []string) (int, error) {
		got = goruntime.GOMAXPROCS(0)
		return 0, nil
	})
	if _, err := verb(context.Background(), nil, nil); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("the verb ran with GOMAXPROCS %d, want %d", got, want)
	}
}
