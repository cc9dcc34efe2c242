package seccomp

import (
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

//go:generate go run gen.go

// Filter is a compiled seccomp filter, ready for seccomp(SECCOMP_SET_MODE_FILTER, Flags, prog).
type Filter struct {
	Program []unix.SockFilter
	Flags   uint // SECCOMP_FILTER_FLAG_* from the spec's flags
}

// badArchRet is returned for a syscall made through an ABI the spec does not admit.
// libseccomp kills the thread; hull kills the whole process, so a multi-threaded
// program is not left running with one thread missing.
const badArchRet = unix.SECCOMP_RET_KILL_PROCESS

// Compile turns the spec's seccomp section into a filter for the host arch. Pure: no syscalls.
func Compile(s *specs.LinuxSeccomp) (Filter, error) {
	native, bigEndian := nativeArch()
	if native == "" {
		return Filter{}, fmt.Errorf("host architecture %s not supported", goruntime.GOARCH)
	}
	return compile(s, native, bigEndian)
}

// rule is one spec syscall entry that survived validation.
type rule struct {
	ret  uint32
	args []specs.LinuxSeccompArg
}

// entry is everything one syscall number does in one ABI.
type entry struct {
	arch   arch
	conds  []rule  // rules with argument conditions, in spec order
	uncond *uint32 // the first rule without conditions, if any
}

// handler is what a span of syscall numbers does: return ret, or run an entry's tests.
type handler struct {
	ret uint32
	e   *entry
}

type span struct {
	lo uint32 // the span runs up to the next span's lo
	h  handler
}

func compile(s *specs.LinuxSeccomp, native specs.Arch, bigEndian bool) (Filter, error) {
	if s == nil {
		return Filter{}, errors.New("no seccomp section")
	}
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		// "This field MUST NOT be set if listenerPath is not set."
		return Filter{}, errors.New("listenerMetadata set without listenerPath")
	}
	flags, err := parseFlags(s.Flags)
	if err != nil {
		return Filter{}, err
	}
	def, err := retValue(s.DefaultAction, s.DefaultErrnoRet)
	if err != nil {
		return Filter{}, fmt.Errorf("defaultAction: %w", err)
	}

	// The runtime spec: "By default only the native architecture of the kernel is
	// permitted"; architectures adds to it.
	var admitted []arch
	for _, name := range append([]specs.Arch{native}, s.Architectures...) {
		a, err := lookupArch(name)
		if err != nil {
			return Filter{}, err
		}
		if a.table >= 0 && !slices.Contains(admitted, a) {
			admitted = append(admitted, a)
		}
	}

	var rules []rule
	var names [][]string
	for i, sc := range s.Syscalls {
		if len(sc.Names) == 0 {
			// "names MUST contain at least one entry."
			return Filter{}, fmt.Errorf("syscalls[%d]: no names", i)
		}
		ret, err := retValue(sc.Action, sc.ErrnoRet)
		if err != nil {
			return Filter{}, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		for _, a := range sc.Args {
			if err := checkArg(a); err != nil {
				return Filter{}, fmt.Errorf("syscalls[%d]: %w", i, err)
			}
		}
		rules = append(rules, rule{ret: ret, args: sc.Args})
		names = append(names, sc.Names)
	}

	c := compiler{def: def, stub: !permissive(def), bigEndian: bigEndian}
	for _, a := range admitted {
		c.addArch(a, rules, names)
	}
	prog := c.emit()
	if len(prog) > unix.BPF_MAXINSNS {
		return Filter{}, fmt.Errorf("filter has %d instructions, over the kernel's limit of %d", len(prog), unix.BPF_MAXINSNS)
	}
	return Filter{Program: prog, Flags: flags}, nil
}

// group is one audit arch with the syscall entries of the ABIs it admits.
type group struct {
	audit   uint32
	abis    []arch
	maxSeen map[specs.Arch]uint32 // highest syscall number the spec names, per ABI
	entries map[uint32]*entry
}

type compiler struct {
	def       uint32
	stub      bool
	bigEndian bool
	groups    []*group
	a         asm
}

func (c *compiler) addArch(a arch, rules []rule, names [][]string) {
	var g *group
	for _, have := range c.groups {
		if have.audit == a.audit {
			g = have
		}
	}
	if g == nil {
		g = &group{audit: a.audit, maxSeen: map[specs.Arch]uint32{}, entries: map[uint32]*entry{}}
		c.groups = append(c.groups, g)
	}
	g.abis = append(g.abis, a)
	for i, r := range rules {
		for _, name := range names[i] {
			// Like runc, skip names this ABI does not have: profiles list syscalls
			// of every architecture and of kernels newer than the one at hand.
			nr, ok := syscallNr(name, a.table)
			if !ok {
				continue
			}
			if seen, ok := g.maxSeen[a.name]; !ok || nr > seen {
				g.maxSeen[a.name] = nr
			}
			if r.ret == c.def {
				continue // runc drops these too: the default already does it
			}
			e := g.entries[nr]
			if e == nil {
				e = &entry{arch: a}
				g.entries[nr] = e
			}
			switch {
			case len(r.args) > 0:
				e.conds = append(e.conds, r)
			case e.uncond == nil:
				ret := r.ret
				e.uncond = &ret
			}
		}
	}
}

// fallback is what the entry returns when no conditional rule matches.
func (c *compiler) fallback(e *entry) uint32 {
	if e.uncond != nil {
		return *e.uncond
	}
	return c.def
}

// base is what number nr does in g when the spec names no rule for it.
func (c *compiler) base(g *group, nr uint32) uint32 {
	if nr == maxNr {
		return c.def // nr -1: a tracer skipping the syscall, as in libseccomp
	}
	for _, a := range g.abis {
		if nr < a.lo || nr > a.hi {
			continue
		}
		// Syscalls newer than any the profile names fail with ENOSYS rather than
		// the default errno, so libc falls back to an older call (runc does the same).
		if seen, ok := g.maxSeen[a.name]; ok && c.stub && nr > seen {
			return unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
		}
		return c.def
	}
	return badArchRet // e.g. an x32 number when only x86_64 is admitted
}

// spans partitions the syscall numbers of g into runs that behave the same.
func (c *compiler) spans(g *group) []span {
	cuts := []uint32{0, maxNr}
	for _, a := range g.abis {
		cuts = append(cuts, a.lo)
		if a.hi < maxNr {
			cuts = append(cuts, a.hi+1)
		}
		if seen, ok := g.maxSeen[a.name]; ok && seen < maxNr {
			cuts = append(cuts, seen+1)
		}
	}
	for nr := range g.entries {
		cuts = append(cuts, nr)
		if nr < maxNr {
			cuts = append(cuts, nr+1)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)

	var out []span
	for _, nr := range cuts {
		h := handler{ret: c.base(g, nr)}
		if e := g.entries[nr]; e != nil {
			h = c.entryHandler(e)
		}
		if len(out) > 0 && out[len(out)-1].h == h {
			continue
		}
		out = append(out, span{lo: nr, h: h})
	}
	return out
}

func (c *compiler) entryHandler(e *entry) handler {
	fb := c.fallback(e)
	// Trailing conditional rules that end where the fallback would are dead weight.
	for len(e.conds) > 0 && e.conds[len(e.conds)-1].ret == fb {
		e.conds = e.conds[:len(e.conds)-1]
	}
	if len(e.conds) == 0 {
		return handler{ret: fb}
	}
	return handler{e: e}
}

// emit lays out the program:
//
//	ld arch; jeq AUDIT_ARCH_1 → g1; jeq AUDIT_ARCH_2 → g2; …; ret KILL_PROCESS
//	g1: ld nr; binary search over the spans of g1, each leaf a ret or argument tests
//	g2: …
func (c *compiler) emit() []unix.SockFilter {
	a := &c.a
	a.load(offArch)
	starts := make([]label, len(c.groups))
	for i, g := range c.groups {
		starts[i] = a.newLabel()
		next := a.newLabel()
		a.jump(opJEQ, g.audit, starts[i], next)
		a.set(next)
	}
	a.ret(badArchRet)
	for i, g := range c.groups {
		a.set(starts[i])
		a.load(offNr)
		c.search(c.spans(g))
	}
	return a.assemble()
}

// search emits a binary search over spans; A holds the syscall number.
func (c *compiler) search(sp []span) {
	if len(sp) == 1 {
		c.leaf(sp[0].h)
		return
	}
	mid := len(sp) / 2
	left, right := c.a.newLabel(), c.a.newLabel()
	c.a.jump(opJGE, sp[mid].lo, right, left)
	c.a.set(left)
	c.search(sp[:mid])
	c.a.set(right)
	c.search(sp[mid:])
}

// leaf emits one handler: rules with arguments are tried in spec order, the first
// whose conditions all hold decides; otherwise the fallback does.
func (c *compiler) leaf(h handler) {
	if h.e == nil {
		c.a.ret(h.ret)
		return
	}
	ac := argCode{a: &c.a, bits64: h.e.arch.bits64(), bigEndian: c.bigEndian}
	for _, r := range h.e.conds {
		fail := c.a.newLabel()
		for _, arg := range r.args {
			ok := c.a.newLabel()
			ac.emit(arg, ok, fail)
			c.a.set(ok)
		}
		c.a.ret(r.ret)
		c.a.set(fail)
	}
	c.a.ret(c.fallback(h.e))
}
