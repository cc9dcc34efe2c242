package seccomp

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// A tiny assembler for classic BPF with symbolic forward labels.
//
// Conditional jumps encode their targets in 8 bits (at most 255 instructions ahead);
// only the unconditional JA has a 32-bit offset. The code generator does not have to
// care: when a conditional target ends up too far, the assembler puts a JA trampoline
// right after the jump and points the short branch at it, repeating the layout until
// every jump fits.

type label int

type itemKind uint8

const (
	kStmt  itemKind = iota // a plain instruction
	kJump                  // conditional jump to labels jt, jf
	kGoto                  // unconditional JA to label jt
	kLabel                 // defines label jt here
)

type item struct {
	kind   itemKind
	ins    unix.SockFilter // opcode and k for kStmt and kJump
	jt, jf label
	// filled in by layout
	farT, farF bool // kJump: branch goes through a trampoline
	elide      bool // kGoto: target is the next instruction
}

type asm struct {
	items  []item
	labels int
}

const (
	opLdAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opRet   = unix.BPF_RET | unix.BPF_K
	opAnd   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opJA    = unix.BPF_JMP | unix.BPF_JA
	opJEQ   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJGT   = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJGE   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
)

func (a *asm) newLabel() label { a.labels++; return label(a.labels - 1) }

func (a *asm) set(l label) { a.items = append(a.items, item{kind: kLabel, jt: l}) }

func (a *asm) load(off uint32) {
	a.items = append(a.items, item{kind: kStmt, ins: unix.SockFilter{Code: opLdAbs, K: off}})
}

func (a *asm) and(k uint32) {
	a.items = append(a.items, item{kind: kStmt, ins: unix.SockFilter{Code: opAnd, K: k}})
}

func (a *asm) ret(k uint32) {
	a.items = append(a.items, item{kind: kStmt, ins: unix.SockFilter{Code: opRet, K: k}})
}

// jump emits "if A <op> k goto jt else goto jf".
func (a *asm) jump(op uint16, k uint32, jt, jf label) {
	a.items = append(a.items, item{kind: kJump, ins: unix.SockFilter{Code: op, K: k}, jt: jt, jf: jf})
}

func (a *asm) goTo(l label) { a.items = append(a.items, item{kind: kGoto, jt: l}) }

func (it *item) size() int {
	switch it.kind {
	case kStmt:
		return 1
	case kJump:
		n := 1
		if it.farT {
			n++
		}
		if it.farF {
			n++
		}
		return n
	case kGoto:
		if it.elide {
			return 0
		}
		return 1
	}
	return 0
}

// assemble resolves labels and returns the program. A label used before it is
// defined further down, or never defined, is a bug in the generator and panics.
func (a *asm) assemble() []unix.SockFilter {
	def := make([]int, a.labels) // label -> item index
	for i := range def {
		def[i] = -1
	}
	for i, it := range a.items {
		if it.kind == kLabel {
			def[it.jt] = i
		}
	}
	check := func(i int, l label) {
		if def[l] <= i {
			panic(fmt.Sprintf("seccomp: label %d used at item %d is not defined after it", l, i))
		}
	}
	for i := range a.items {
		it := &a.items[i]
		switch it.kind {
		case kJump:
			check(i, it.jt)
			check(i, it.jf)
		case kGoto:
			check(i, it.jt)
			it.elide = true
			for _, between := range a.items[i+1 : def[it.jt]] {
				if between.kind != kLabel {
					it.elide = false
					break
				}
			}
		}
	}

	pos := make([]int, len(a.items)+1) // item index -> instruction index
	for {
		for i := range a.items {
			pos[i+1] = pos[i] + a.items[i].size()
		}
		grown := false
		for i := range a.items {
			it := &a.items[i]
			if it.kind != kJump {
				continue
			}
			next := pos[i] + 1
			if !it.farT && pos[def[it.jt]]-next > 255 {
				it.farT, grown = true, true
			}
			if !it.farF && pos[def[it.jf]]-next > 255 {
				it.farF, grown = true, true
			}
		}
		if !grown {
			break
		}
	}

	prog := make([]unix.SockFilter, 0, pos[len(a.items)])
	for i, it := range a.items {
		switch it.kind {
		case kStmt:
			prog = append(prog, it.ins)
		case kGoto:
			if !it.elide {
				prog = append(prog, unix.SockFilter{Code: opJA, K: uint32(pos[def[it.jt]] - pos[i] - 1)})
			}
		case kJump:
			ins := it.ins
			next := pos[i] + 1
			var tramp []unix.SockFilter
			if it.farT {
				ins.Jt = 0
				tramp = append(tramp, unix.SockFilter{Code: opJA, K: uint32(pos[def[it.jt]] - next - 1)})
			} else {
				ins.Jt = uint8(pos[def[it.jt]] - next)
			}
			if it.farF {
				ins.Jf = uint8(len(tramp))
				at := next + len(tramp)
				tramp = append(tramp, unix.SockFilter{Code: opJA, K: uint32(pos[def[it.jf]] - at - 1)})
			} else {
				ins.Jf = uint8(pos[def[it.jf]] - next)
			}
			prog = append(prog, ins)
			prog = append(prog, tramp...)
		}
	}
	return prog
}
