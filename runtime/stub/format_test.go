package stub

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// decode is the inverse of Encode, written from the layout comment in
// format.go the way stub.c's parse() is, so the two readings can be compared.
func decode(b []byte) (Program, error) {
	le := binary.LittleEndian
	var p Program
	if len(b) < headerSize {
		return p, errors.New("truncated header")
	}
	if string(b[:4]) != magic || le.Uint16(b[4:]) != version {
		return p, errors.New("bad magic or version")
	}
	flags := le.Uint16(b[6:])
	p.SkipSetgroups = flags&flagSkipSetgroups != 0
	p.KeepIdentity = flags&flagKeepIdentity != 0
	p.NoNewPrivileges = flags&flagNoNewPrivs != 0
	p.FifoFD = int(int32(le.Uint32(b[8:])))
	p.UID = le.Uint32(b[12:])
	p.GID = le.Uint32(b[16:])
	p.CapLastCap = int(le.Uint32(b[20:]))
	ngids, argc, envc := int(le.Uint32(b[24:])), int(le.Uint32(b[28:])), int(le.Uint32(b[32:]))
	strsize := int(le.Uint32(b[36:]))
	p.SeccompFlags = uint(le.Uint32(b[40:]))
	nfilter := int(le.Uint32(b[44:]))
	p.Caps = Caps{le.Uint64(b[48:]), le.Uint64(b[56:]), le.Uint64(b[64:]), le.Uint64(b[72:]), le.Uint64(b[80:])}
	nattr := int(le.Uint32(b[88:]))
	if le.Uint32(b[92:]) != 0 {
		return p, errors.New("reserved bytes set")
	}

	off := headerSize
	strs := off + 4*ngids
	filt := (strs + strsize + 7) &^ 7
	if filt+8*nfilter != len(b) {
		return p, fmt.Errorf("size %d does not match counts (%d)", len(b), filt+8*nfilter)
	}
	for i := 0; i < ngids; i++ {
		p.AdditionalGids = append(p.AdditionalGids, le.Uint32(b[off+4*i:]))
	}
	if strsize == 0 || b[strs+strsize-1] != 0 {
		return p, errors.New("unterminated strings")
	}
	ss := strings.Split(string(b[strs:strs+strsize-1]), "\x00")
	if len(ss) != 1+argc+envc+2*nattr {
		return p, fmt.Errorf("%d strings, want %d", len(ss), 1+argc+envc+2*nattr)
	}
	p.Path, p.Argv, p.Env = ss[0], ss[1:1+argc], ss[1+argc:1+argc+envc]
	if envc == 0 {
		p.Env = nil
	}
	for i := 1 + argc + envc; i < len(ss); i += 2 {
		p.Attrs = append(p.Attrs, Attr{ss[i], ss[i+1]})
	}
	if !bytes.Equal(b[strs+strsize:filt], make([]byte, filt-strs-strsize)) {
		return p, errors.New("nonzero padding")
	}
	for i := 0; i < nfilter; i++ {
		e := b[filt+8*i:]
		p.Seccomp = append(p.Seccomp, unix.SockFilter{Code: le.Uint16(e), Jt: e[2], Jf: e[3], K: le.Uint32(e[4:])})
	}
	return p, nil
}

func minimal() Program {
	return Program{Path: "/bin/true", Argv: []string{"true"}, CapLastCap: 40, FifoFD: -1}
}

func TestEncodeRoundTrip(t *testing.T) {
	full := Program{
		Path: "/usr/bin/env", Argv: []string{"env", "", "a b", "ünï\tcode"}, Env: []string{"A=1", "EMPTY=", "PATH=/bin"},
		UID: 1000, GID: 1001, AdditionalGids: []uint32{1, 2, 4294967294},
		SkipSetgroups: true, KeepIdentity: true, NoNewPrivileges: true,
		Caps:       Caps{Bounding: 1<<41 - 1, Effective: 1 << 10, Permitted: 1<<10 | 1<<40, Inheritable: 1 << 40, Ambient: 1 << 40},
		CapLastCap: 40,
		Seccomp: []unix.SockFilter{
			{Code: 0x20, K: 4}, {Code: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}, {Code: 0x06, K: 0x7fff0000},
		},
		SeccompFlags: unix.SECCOMP_FILTER_FLAG_LOG,
		FifoFD:       7,
		Attrs:        []Attr{{"thread-self/attr/apparmor/exec", "exec my profile"}, {"thread-self/attr/exec", "system_u:system_r:container_t:s0"}},
	}
	for name, p := range map[string]Program{
		"minimal": minimal(),
		"full":    full,
		"path of 7 bytes pads strings to 8": {Path: "/a/b/c", Argv: []string{"c"}, CapLastCap: 63, FifoFD: 0,
			Seccomp: []unix.SockFilter{{Code: 6, K: 0x7fff0000}}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(b)%8 != 0 && len(p.Seccomp) > 0 {
				t.Errorf("len %d: filter not 8-aligned", len(b))
			}
			got, err := decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

// TestEncodeLayout pins the bytes stub.c reads, so a change to one side
// without the other shows here before it shows as a failed container.
func TestEncodeLayout(t *testing.T) {
	p := Program{
		Path: "/x", Argv: []string{"x"}, Env: []string{"A=1"},
		UID: 1000, GID: 1000, AdditionalGids: []uint32{5}, NoNewPrivileges: true,
		Caps: Caps{Bounding: 1, Effective: 1, Permitted: 1}, CapLastCap: 40,
		Seccomp: []unix.SockFilter{{Code: 6, Jt: 1, Jf: 2, K: 0x7fff0000}}, FifoFD: -1,
		Attrs: []Attr{{"a", "b"}},
	}
	want := []byte{
		'H', 'U', 'L', 'L', 2, 0, 4, 0, // magic, version, flags (no_new_privs)
		0xff, 0xff, 0xff, 0xff, // fifo fd -1
		0xe8, 3, 0, 0, 0xe8, 3, 0, 0, // uid, gid 1000
		40, 0, 0, 0, 1, 0, 0, 0, // cap_last_cap, ngids
		1, 0, 0, 0, 1, 0, 0, 0, // argc, envc
		13, 0, 0, 0, 0, 0, 0, 0, // string bytes "/x\0x\0A=1\0a\0b\0", seccomp flags
		1, 0, 0, 0, // filter entries
		1, 0, 0, 0, 0, 0, 0, 0, // bounding
		1, 0, 0, 0, 0, 0, 0, 0, // effective
		1, 0, 0, 0, 0, 0, 0, 0, // permitted
		0, 0, 0, 0, 0, 0, 0, 0, // inheritable
		0, 0, 0, 0, 0, 0, 0, 0, // ambient
		1, 0, 0, 0, 0, 0, 0, 0, // LSM attributes, zero
		5, 0, 0, 0, // gid 5
		'/', 'x', 0, 'x', 0, 'A', '=', '1', 0, 'a', 0, 'b', 0,
		0, 0, 0, 0, 0, 0, 0, // pad 113 to 120
		6, 0, 1, 2, 0, 0, 0xff, 0x7f, // RET ALLOW
	}
	got, err := Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Encode:\n got % x\nwant % x", got, want)
	}
}

func TestEncodeRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Program)
		want   string
	}{
		{"empty path", func(p *Program) { p.Path = "" }, "empty path"},
		{"NUL in path", func(p *Program) { p.Path = "/bin/a\x00b" }, "contains NUL"},
		{"no argv", func(p *Program) { p.Argv = nil }, "empty argv"},
		{"NUL in argv", func(p *Program) { p.Argv = []string{"a", "b\x00"} }, "argv[1] contains NUL"},
		{"NUL in env", func(p *Program) { p.Env = []string{"A=\x00"} }, "env[0] contains NUL"},
		{"fifo fd below -1", func(p *Program) { p.FifoFD = -2 }, "bad fifo fd -2"},
		{"cap_last_cap unset", func(p *Program) { p.CapLastCap = 0 }, "cap_last_cap 0 out of range"},
		{"cap_last_cap 64", func(p *Program) { p.CapLastCap = 64 }, "cap_last_cap 64 out of range"},
		{"cap above last", func(p *Program) { p.Caps.Bounding = 1 << 41 }, "bounding capabilities 0x20000000000 name caps above cap_last_cap 40"},
		{"effective not permitted", func(p *Program) { p.Caps.Effective = 1 }, "effective capabilities 0x1 not all permitted"},
		{"ambient not inheritable", func(p *Program) { p.Caps.Permitted, p.Caps.Ambient = 3, 2 }, "ambient capabilities 0x2 not all permitted and inheritable (0x0)"},
		{"too many gids", func(p *Program) { p.AdditionalGids = make([]uint32, ngroupsMax+1) }, "65537 additional gids"},
		{"filter too long", func(p *Program) { p.Seccomp = make([]unix.SockFilter, bpfMaxInsns+1) }, "4097 instructions"},
		{"flags without filter", func(p *Program) { p.SeccompFlags = 1 }, "seccomp flags 0x1 without a filter"},
		{"three LSM attributes", func(p *Program) { p.Attrs = make([]Attr, 3) }, "3 LSM attributes, more than 2"},
		{"empty LSM value", func(p *Program) { p.Attrs = []Attr{{"thread-self/attr/exec", ""}} }, "bad LSM attribute"},
		{"absolute LSM file", func(p *Program) { p.Attrs = []Attr{{"/proc/self/attr/exec", "x"}} }, "bad LSM attribute"},
		{"NUL in LSM value", func(p *Program) { p.Attrs = []Attr{{"thread-self/attr/exec", "a\x00b"}} }, "bad LSM attribute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := minimal()
			tc.change(&p)
			_, err := Encode(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Encode = %v, want error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzEncode checks that whatever strings Encode accepts come back intact.
func FuzzEncode(f *testing.F) {
	f.Add("/bin/sh", "sh", "-c", "A=1", uint32(0))
	f.Add("/a", "", "", "", uint32(7))
	f.Fuzz(func(t *testing.T, path, a0, a1, env string, gid uint32) {
		p := minimal()
		p.Path, p.Argv, p.Env, p.AdditionalGids = path, []string{a0, a1}, []string{env}, []uint32{gid}
		b, err := Encode(p)
		if err != nil {
			return
		}
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode(Encode(%+v)): %v", p, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
		}
	})
}
