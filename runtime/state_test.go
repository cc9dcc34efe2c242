package runtime

import (
	"strings"
	"testing"
)

var allStatuses = []Status{Creating, Created, Running, Paused, Stopped}

// TestTransitions checks the whole table: exactly these moves are legal.
func TestTransitions(t *testing.T) {
	legal := map[[2]Status]bool{
		{Creating, Created}: true,
		{Creating, Stopped}: true,
		{Created, Running}:  true,
		{Created, Stopped}:  true,
		{Running, Paused}:   true,
		{Running, Stopped}:  true,
		{Paused, Running}:   true,
		{Paused, Stopped}:   true,
	}
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			if got, want := CanMove(from, to), legal[[2]Status{from, to}]; got != want {
				t.Errorf("CanMove(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	if CanMove("bogus", Running) || CanMove(Running, "bogus") {
		t.Error("an unknown status takes part in a legal move")
	}
}

func TestMustMove(t *testing.T) {
	for _, from := range allStatuses {
		for _, to := range allStatuses {
			panicked, msg := catchPanic(func() { mustMove(from, to) })
			if panicked == CanMove(from, to) {
				t.Errorf("mustMove(%s, %s): panicked %v, legal %v", from, to, panicked, CanMove(from, to))
			}
			if panicked && (!strings.Contains(msg, string(from)) || !strings.Contains(msg, string(to))) {
				t.Errorf("mustMove(%s, %s) panic does not name the move: %q", from, to, msg)
			}
		}
	}
}

func catchPanic(fn func()) (panicked bool, msg string) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			msg, _ = r.(string)
		}
	}()
	fn()
	return false, ""
}

// TestOCIStatePid: a stopped container reports pid 0 (runc does, and hooks read it).
func TestOCIStatePid(t *testing.T) {
	s := &State{ID: "a", Bundle: "/b", Pid: 42}
	if got := s.OCIState(Running); got.Pid != 42 || got.ID != "a" || got.Bundle != "/b" || got.Status != "running" {
		t.Errorf("running: %+v", got)
	}
	if got := s.OCIState(Stopped); got.Pid != 0 || got.Status != "stopped" {
		t.Errorf("stopped: %+v", got)
	}
}
