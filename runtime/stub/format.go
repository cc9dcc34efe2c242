package stub

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"golang.org/x/sys/unix"
)

// Caps are capability sets as bit masks: bit n is capability n (CAP_CHOWN is
// bit 0), the layout of the CapXxx lines in /proc/<pid>/status.
type Caps struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Program is what the stub does once it is released: the identity to take on
// and the file to execute.
type Program struct {
	// Path is passed to execve(2) as is: resolve it against PATH first.
	Path string
	// Argv must have at least argv[0]; Env is the whole environment.
	Argv, Env []string

	// UID, GID and AdditionalGids become the real, effective and saved
	// ids and the supplementary groups.
	UID, GID       uint32
	AdditionalGids []uint32
	// SkipSetgroups leaves the groups alone: a user namespace whose
	// /proc/<pid>/setgroups is "deny" refuses setgroups(2).
	SkipSetgroups bool
	// KeepIdentity skips setgroups, setresgid and setresuid altogether.
	KeepIdentity bool

	Caps Caps
	// CapLastCap is /proc/sys/kernel/cap_last_cap, the highest capability
	// the kernel knows. Exec reads it when zero; Encode requires it.
	CapLastCap int

	NoNewPrivileges bool

	// Seccomp is a compiled classic BPF filter, loaded with SeccompFlags
	// (SECCOMP_FILTER_FLAG_*). Empty means no filter.
	Seccomp      []unix.SockFilter
	SeccompFlags uint

	// FifoFD is an O_PATH fd of the exec fifo, open in the calling process
	// without O_CLOEXEC or Exec clears it. The stub blocks until the fifo is
	// opened for reading, then writes "0". -1 means exec at once.
	FifoFD int

	// Attrs are LSM labels for the program: each Value is written to its File under a private
	// copy of /proc right before no_new_privs, and the kernel applies it at the execve. At most
	// two: AppArmor's and SELinux's.
	Attrs []Attr

	// TimeNSFD, if > 0, is an fd of a time namespace the stub joins first (setns needs a
	// single-threaded caller). Exec passes it on the stub's command line, not in the program.
	TimeNSFD int
}

// Attr is one write to a process attribute file of an LSM, such as
// {"thread-self/attr/apparmor/exec", "exec my-profile"}: File is relative to /proc.
type Attr struct{ File, Value string }

// The program's wire format, read by stub.c's parse(). Little-endian:
//
//	off size
//	  0   4  magic "HULL"
//	  4   2  version (2)
//	  6   2  flags (flagSkipSetgroups | flagKeepIdentity | flagNoNewPrivs)
//	  8   4  fifo fd, int32, -1: none
//	 12   4  uid
//	 16   4  gid
//	 20   4  cap_last_cap
//	 24   4  number of additional gids
//	 28   4  argc
//	 32   4  envc
//	 36   4  string bytes: path, argv and env, each NUL-terminated
//	 40   4  seccomp flags
//	 44   4  number of seccomp filter entries
//	 48  40  capability masks: bounding, effective, permitted, inheritable, ambient
//	 88   4  number of LSM attributes
//	 92   4  zero
//	 96      gids, 4 bytes each
//	         strings: path, argv, env, then file and value of each attribute
//	         zeros up to a multiple of 8
//	         filter entries, 8 bytes each: code u16, jt u8, jf u8, k u32
//
// The stub requires the size to match the counts exactly.
const (
	magic      = "HULL"
	version    = 2
	headerSize = 96

	flagSkipSetgroups = 1 << 0
	flagKeepIdentity  = 1 << 1
	flagNoNewPrivs    = 1 << 2

	// bpfMaxInsns is BPF_MAXINSNS, the kernel's limit on a filter's length.
	bpfMaxInsns = 4096
	// ngroupsMax is NGROUPS_MAX, the kernel's limit for setgroups(2).
	ngroupsMax = 65536
	// maxAttrs is stub.c's MAX_ATTR.
	maxAttrs = 2
)

// Encode validates p and lays it out for the stub. It does no I/O.
func Encode(p Program) ([]byte, error) {
	if err := validate(p); err != nil {
		return nil, err
	}
	all := append(append([]string{p.Path}, p.Argv...), p.Env...)
	for _, a := range p.Attrs {
		all = append(all, a.File, a.Value)
	}
	strs := 0
	for _, s := range all {
		strs += len(s) + 1
	}
	if strs > math.MaxUint32/2 {
		return nil, fmt.Errorf("program: %d bytes of path, argv and env is too large", strs)
	}

	var flags uint16
	if p.SkipSetgroups {
		flags |= flagSkipSetgroups
	}
	if p.KeepIdentity {
		flags |= flagKeepIdentity
	}
	if p.NoNewPrivileges {
		flags |= flagNoNewPrivs
	}

	le := binary.LittleEndian
	b := make([]byte, 0, headerSize+4*len(p.AdditionalGids)+strs+7+8*len(p.Seccomp))
	b = append(b, magic...)
	b = le.AppendUint16(b, version)
	b = le.AppendUint16(b, flags)
	b = le.AppendUint32(b, uint32(int32(p.FifoFD)))
	b = le.AppendUint32(b, p.UID)
	b = le.AppendUint32(b, p.GID)
	b = le.AppendUint32(b, uint32(p.CapLastCap))
	b = le.AppendUint32(b, uint32(len(p.AdditionalGids)))
	b = le.AppendUint32(b, uint32(len(p.Argv)))
	b = le.AppendUint32(b, uint32(len(p.Env)))
	b = le.AppendUint32(b, uint32(strs))
	b = le.AppendUint32(b, uint32(p.SeccompFlags))
	b = le.AppendUint32(b, uint32(len(p.Seccomp)))
	for _, m := range []uint64{p.Caps.Bounding, p.Caps.Effective, p.Caps.Permitted, p.Caps.Inheritable, p.Caps.Ambient} {
		b = le.AppendUint64(b, m)
	}
	b = le.AppendUint32(b, uint32(len(p.Attrs)))
	b = le.AppendUint32(b, 0)
	for _, g := range p.AdditionalGids {
		b = le.AppendUint32(b, g)
	}
	for _, s := range all {
		b = append(b, s...)
		b = append(b, 0)
	}
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	for _, f := range p.Seccomp {
		b = le.AppendUint16(b, f.Code)
		b = append(b, f.Jt, f.Jf)
		b = le.AppendUint32(b, f.K)
	}
	return b, nil
}

// validate rejects what the stub could only fail on later, with a vaguer message.
func validate(p Program) error {
	if p.Path == "" {
		return fmt.Errorf("program: empty path")
	}
	if strings.IndexByte(p.Path, 0) >= 0 {
		return fmt.Errorf("program: path %q contains NUL", p.Path)
	}
	if len(p.Argv) == 0 {
		return fmt.Errorf("program %s: empty argv", p.Path)
	}
	for i, a := range p.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("program %s: argv[%d] contains NUL", p.Path, i)
		}
	}
	for i, e := range p.Env {
		if strings.IndexByte(e, 0) >= 0 {
			return fmt.Errorf("program %s: env[%d] contains NUL", p.Path, i)
		}
	}
	if len(p.Attrs) > maxAttrs {
		return fmt.Errorf("program %s: %d LSM attributes, more than %d", p.Path, len(p.Attrs), maxAttrs)
	}
	for _, a := range p.Attrs {
		if a.File == "" || a.Value == "" || strings.IndexByte(a.File+a.Value, 0) >= 0 || strings.HasPrefix(a.File, "/") {
			return fmt.Errorf("program %s: bad LSM attribute %q = %q", p.Path, a.File, a.Value)
		}
	}
	if len(p.AdditionalGids) > ngroupsMax {
		return fmt.Errorf("program %s: %d additional gids, more than %d", p.Path, len(p.AdditionalGids), ngroupsMax)
	}
	if p.FifoFD < -1 || p.FifoFD > math.MaxInt32 {
		return fmt.Errorf("program %s: bad fifo fd %d", p.Path, p.FifoFD)
	}
	if err := validateCaps(p.Caps, p.CapLastCap); err != nil {
		return fmt.Errorf("program %s: %w", p.Path, err)
	}
	if len(p.Seccomp) > bpfMaxInsns {
		return fmt.Errorf("program %s: seccomp filter of %d instructions, more than %d", p.Path, len(p.Seccomp), bpfMaxInsns)
	}
	if len(p.Seccomp) == 0 && p.SeccompFlags != 0 {
		return fmt.Errorf("program %s: seccomp flags %#x without a filter", p.Path, p.SeccompFlags)
	}
	if p.SeccompFlags > math.MaxUint32 {
		return fmt.Errorf("program %s: seccomp flags %#x out of range", p.Path, p.SeccompFlags)
	}
	return nil
}

// validateCaps checks what capset(2) and PR_CAP_AMBIENT_RAISE would refuse
// with a bare EPERM.
func validateCaps(c Caps, last int) error {
	if last <= 0 || last > 63 {
		return fmt.Errorf("cap_last_cap %d out of range 1..63", last)
	}
	known := uint64(1)<<(last+1) - 1
	for _, s := range []struct {
		name string
		mask uint64
	}{
		{"bounding", c.Bounding}, {"effective", c.Effective}, {"permitted", c.Permitted},
		{"inheritable", c.Inheritable}, {"ambient", c.Ambient},
	} {
		if s.mask&^known != 0 {
			return fmt.Errorf("%s capabilities %#x name caps above cap_last_cap %d", s.name, s.mask, last)
		}
	}
	if c.Effective&^c.Permitted != 0 {
		return fmt.Errorf("effective capabilities %#x not all permitted (%#x)", c.Effective, c.Permitted)
	}
	if c.Ambient&^(c.Permitted&c.Inheritable) != 0 {
		return fmt.Errorf("ambient capabilities %#x not all permitted and inheritable (%#x)", c.Ambient, c.Permitted&c.Inheritable)
	}
	return nil
}
