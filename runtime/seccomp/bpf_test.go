package seccomp

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"
)

// seccompData mirrors struct seccomp_data.
type seccompData struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// bytes lays the struct out as the kernel does on a little-endian host.
func (d seccompData) bytes() []byte {
	b := make([]byte, 64)
	binary.LittleEndian.PutUint32(b[0:], d.nr)
	binary.LittleEndian.PutUint32(b[4:], d.arch)
	for i, a := range d.args {
		binary.LittleEndian.PutUint64(b[16+8*i:], a)
	}
	return b
}

// run interprets a classic BPF program the way the kernel's seccomp does, for the
// instructions Compile emits, and returns the filter's verdict.
func run(prog []unix.SockFilter, d seccompData) (uint32, error) {
	if err := validate(prog); err != nil {
		return 0, err
	}
	data := d.bytes()
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Code {
		case opLdAbs:
			acc = binary.LittleEndian.Uint32(data[ins.K:])
		case opAnd:
			acc &= ins.K
		case opRet:
			return ins.K, nil
		case opJA:
			pc += int(ins.K)
		case opJEQ, opJGT, opJGE:
			var ok bool
			switch ins.Code {
			case opJEQ:
				ok = acc == ins.K
			case opJGT:
				ok = acc > ins.K
			case opJGE:
				ok = acc >= ins.K
			}
			if ok {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		}
	}
	return 0, fmt.Errorf("fell off the end of the program")
}

// validate does the checks of the kernel's seccomp_check_filter and bpf_check_classic
// that matter here: known opcodes, aligned loads inside seccomp_data, every jump
// forward and inside the program, a RET at the end, and the length limit.
func validate(prog []unix.SockFilter) error {
	if len(prog) == 0 || len(prog) > unix.BPF_MAXINSNS {
		return fmt.Errorf("program length %d out of range", len(prog))
	}
	for pc, ins := range prog {
		in := func(off uint32) error {
			if uint64(pc)+1+uint64(off) >= uint64(len(prog)) {
				return fmt.Errorf("pc %d: jump by %d leaves the program", pc, off)
			}
			return nil
		}
		switch ins.Code {
		case opLdAbs:
			if ins.K >= 64 || ins.K%4 != 0 {
				return fmt.Errorf("pc %d: load at bad offset %d", pc, ins.K)
			}
		case opAnd, opRet:
		case opJA:
			if err := in(ins.K); err != nil {
				return err
			}
		case opJEQ, opJGT, opJGE:
			if err := in(uint32(ins.Jt)); err != nil {
				return err
			}
			if err := in(uint32(ins.Jf)); err != nil {
				return err
			}
		default:
			return fmt.Errorf("pc %d: unexpected opcode %#x", pc, ins.Code)
		}
	}
	if prog[len(prog)-1].Code != opRet {
		return fmt.Errorf("program does not end in RET")
	}
	return nil
}
