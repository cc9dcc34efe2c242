package sysmon

// Go starts every goroutine on a 2 KB stack and doubles it by copying when a call needs more.
// A copy walks every frame on the stack with the binary's tables (pclntab, stack maps), whose
// pages a new process has to fault in, and hull's calls are deep: a `hull run` grew its main
// goroutine 2 -> 4 -> 8 -> 16 KB and the setup thread's 2 -> 4 -> 8 KB, five copies
// (perf: ≈2% of its CPU). Growing once, while the stack is still shallow, is one copy of a
// few frames.

// never is false, but the compiler cannot know it: the padding below stays in the frame
// while no instruction ever touches it.
var never bool

// GrowStackTo16K gives the calling goroutine a stack of 16 KB now. Its frame holds 12 KB,
// so the function prologue finds the stack too small and Go grows it to the first power of
// two that fits, in one copy; the padding itself is never written.
//
//go:noinline
func GrowStackTo16K() {
	if never {
		var pad [12 << 10]byte
		sink(pad[:])
	}
}

// GrowStackTo8K does the same for 8 KB.
//
//go:noinline
func GrowStackTo8K() {
	if never {
		var pad [5 << 10]byte
		sink(pad[:])
	}
}

//go:noinline
func sink([]byte) {}
