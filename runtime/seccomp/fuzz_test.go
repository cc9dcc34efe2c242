package seccomp

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func FuzzCompile(f *testing.F) {
	def, err := json.Marshal(Default())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"],
		"syscalls":[{"names":["personality","read"],"action":"SCMP_ACT_ERRNO","errnoRet":5,
		"args":[{"index":1,"value":4294967296,"valueTwo":7,"op":"SCMP_CMP_MASKED_EQ"},{"index":0,"value":3,"op":"SCMP_CMP_LE"}]}]}`))
	f.Add([]byte(`{"defaultAction":"SCMP_ACT_KILL_PROCESS","flags":["SECCOMP_FILTER_FLAG_LOG"],
		"syscalls":[{"names":["write"],"action":"SCMP_ACT_TRACE","errnoRet":9},{"names":["write"],"action":"SCMP_ACT_LOG"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var s specs.LinuxSeccomp
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		filter, err := compile(&s, specs.ArchX86_64, false)
		if err != nil {
			return
		}
		if err := validate(filter.Program); err != nil {
			t.Fatalf("invalid program: %v", err)
		}
		for _, d := range []seccompData{
			{nr: 0, arch: unix.AUDIT_ARCH_X86_64},
			{nr: 135, arch: unix.AUDIT_ARCH_X86_64, args: [6]uint64{1 << 33, 3}},
			{nr: x32Bit + 1, arch: unix.AUDIT_ARCH_X86_64},
			{nr: 136, arch: unix.AUDIT_ARCH_I386, args: [6]uint64{7, 1<<32 | 7}},
			{nr: maxNr, arch: unix.AUDIT_ARCH_ARM},
		} {
			if _, err := run(filter.Program, d); err != nil {
				t.Fatalf("run %+v: %v", d, err)
			}
		}
	})
}
