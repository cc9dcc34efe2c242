package sysmon

import (
	"testing"
	"unsafe"
)

// deep needs about n KB of stack below its caller.
//
//go:noinline
func deep(n int) int {
	var pad [1 << 10]byte
	pad[n%len(pad)] = byte(n)
	if n <= 1 {
		return int(pad[0])
	}
	return deep(n-1) + int(pad[n%len(pad)])
}

// stackMoves runs grow, then a call chain needing need KB, on a new goroutine (2 KB of
// stack), and reports whether Go moved the stack during grow and during the chain: a local's
// address changes when the stack is copied.
func stackMoves(grow func(), need int) (byGrow, byChain bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var x byte
		before := uintptr(unsafe.Pointer(&x))
		grow()
		mid := uintptr(unsafe.Pointer(&x))
		deep(need)
		after := uintptr(unsafe.Pointer(&x))
		byGrow, byChain = mid != before, after != mid
	}()
	<-done
	return byGrow, byChain
}

// TestGrowStack: after GrowStackTo16K (8K) a chain that needs 10 KB (5 KB) runs without
// another copy of the stack; without it, the same chain grows the stack on the way.
func TestGrowStack(t *testing.T) {
	for _, c := range []struct {
		name string
		grow func()
		need int
	}{{"16K", GrowStackTo16K, 10}, {"8K", GrowStackTo8K, 5}} {
		if byGrow, byChain := stackMoves(c.grow, c.need); !byGrow || byChain {
			t.Errorf("GrowStackTo%s: stack copied by it %v (want true), by a %d KB chain after it %v (want false)", c.name, byGrow, c.need, byChain)
		}
		if _, byChain := stackMoves(func() {}, c.need); !byChain {
			t.Errorf("without GrowStackTo%s a %d KB chain did not grow the stack: the test proves nothing", c.name, c.need)
		}
	}
}
