package seccomp

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Offsets in struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

func checkArg(a specs.LinuxSeccompArg) error {
	if a.Index > 5 {
		return fmt.Errorf("argument index %d out of range 0-5", a.Index)
	}
	switch a.Op {
	case specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
		specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual:
		return nil
	}
	return fmt.Errorf("unknown operator %q", a.Op)
}

// argCode emits tests of syscall arguments. BPF registers are 32 bits wide, so each
// 64-bit argument is compared as a high and a low half. On 32-bit ABIs only the low
// half is meaningful (the kernel may leave junk in the high half of a compat task's
// registers), so the high half is taken to be zero and its test is decided here, at
// compile time, instead of in the filter.
type argCode struct {
	a         *asm
	bits64    bool
	bigEndian bool
}

func (c argCode) loadLo(i uint) {
	off := uint32(offArgs + 8*i)
	if c.bigEndian {
		off += 4
	}
	c.a.load(off)
}

func (c argCode) loadHi(i uint) {
	off := uint32(offArgs + 8*i)
	if !c.bigEndian {
		off += 4
	}
	c.a.load(off)
}

// emit jumps to yes when the condition holds and to no when it does not.
func (c argCode) emit(arg specs.LinuxSeccompArg, yes, no label) {
	switch arg.Op {
	case specs.OpEqualTo:
		c.eq(arg.Index, arg.Value, yes, no)
	case specs.OpNotEqual:
		c.eq(arg.Index, arg.Value, no, yes)
	case specs.OpGreaterThan:
		c.gt(arg.Index, arg.Value, opJGT, yes, no)
	case specs.OpGreaterEqual:
		c.gt(arg.Index, arg.Value, opJGE, yes, no)
	case specs.OpLessThan: // a < v  ==  !(a >= v)
		c.gt(arg.Index, arg.Value, opJGE, no, yes)
	case specs.OpLessEqual: // a <= v  ==  !(a > v)
		c.gt(arg.Index, arg.Value, opJGT, no, yes)
	case specs.OpMaskedEqual: // (a & value) == valueTwo
		c.masked(arg.Index, arg.Value, arg.ValueTwo, yes, no)
	default:
		panic("seccomp: operator not validated: " + string(arg.Op))
	}
}

// eq: hi == vh && lo == vl.
func (c argCode) eq(i uint, v uint64, yes, no label) {
	if !c.hiTest(i, func(hi label) { c.a.jump(opJEQ, uint32(v>>32), hi, no) }, uint32(v>>32) == 0, no) {
		return
	}
	c.loadLo(i)
	c.a.jump(opJEQ, uint32(v), yes, no)
}

// gt: hi > vh || (hi == vh && lo op vl), with op JGT for ">" and JGE for ">=".
func (c argCode) gt(i uint, v uint64, op uint16, yes, no label) {
	vh := uint32(v >> 32)
	if !c.hiTest(i, func(hi label) {
		notAbove := c.a.newLabel()
		c.a.jump(opJGT, vh, yes, notAbove)
		c.a.set(notAbove)
		c.a.jump(opJEQ, vh, hi, no)
	}, vh == 0, no) {
		return
	}
	c.loadLo(i)
	c.a.jump(op, uint32(v), yes, no)
}

// masked: (hi & mh) == wh && (lo & ml) == wl.
func (c argCode) masked(i uint, mask, want uint64, yes, no label) {
	if !c.hiTest(i, func(hi label) {
		c.a.and(uint32(mask >> 32))
		c.a.jump(opJEQ, uint32(want>>32), hi, no)
	}, uint32(want>>32) == 0, no) {
		return
	}
	c.loadLo(i)
	c.a.and(uint32(mask))
	c.a.jump(opJEQ, uint32(want), yes, no)
}

// hiTest emits the high-half test: on a 64-bit ABI it loads the high half and runs
// test, which jumps to the label it is given when the low half decides; on a 32-bit
// ABI zeroOK says whether a zero high half lets the low half decide, and if not it
// jumps to no. It reports whether the caller should go on to test the low half.
func (c argCode) hiTest(i uint, test func(lo label), zeroOK bool, no label) bool {
	if c.bits64 {
		lo := c.a.newLabel()
		c.loadHi(i)
		test(lo)
		c.a.set(lo)
		return true
	}
	if !zeroOK {
		c.a.goTo(no)
		return false
	}
	return true
}
