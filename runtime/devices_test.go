package runtime

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func rule(d specs.LinuxDeviceCgroup) string {
	n := func(p *int64) string {
		if p == nil {
			return "*"
		}
		return fmt.Sprint(*p)
	}
	return fmt.Sprintf("%v %s %s:%s %s", d.Allow, d.Type, n(d.Major), n(d.Minor), d.Access)
}

func TestDeviceResources(t *testing.T) {
	mem := int64(1 << 20)
	l := &specs.Linux{
		Resources: &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: &mem},
			Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, {Allow: true, Type: "b", Major: i64(8), Minor: i64(0), Access: "r"}},
		},
		Devices: []specs.LinuxDevice{
			{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0},
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229},
			{Path: "/dev/kmsg", Type: "u", Major: 1, Minor: 11},
			{Path: "/dev/myfifo", Type: "p"},
		},
	}
	r := deviceResources(l)
	var got []string
	for _, d := range r.Devices {
		got = append(got, rule(d))
	}
	want := []string{
		// the spec's own rules first
		"false  *:* rwm",
		"true b 8:0 r",
		// then the defaults
		"true c 1:3 rwm", "true c 1:5 rwm", "true c 1:7 rwm", "true c 1:8 rwm", "true c 1:9 rwm",
		"true c 5:0 rwm", "true c 5:2 rwm", "true c 136:* rwm", "false c 10:200 rwm",
		// then linux.devices: u becomes c, the fifo is skipped
		"true b 8:0 rwm", "true c 10:229 rwm", "true c 1:11 rwm",
	}
	if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
		t.Errorf("device rules:\n got %q\nwant %q", got, want)
	}
	if r.Memory == nil || *r.Memory.Limit != mem {
		t.Errorf("other resources lost: %+v", r.Memory)
	}
	if len(l.Resources.Devices) != 2 {
		t.Errorf("the spec's own rules were changed: %d rules", len(l.Resources.Devices))
	}
	if r := deviceResources(&specs.Linux{}); len(r.Devices) != len(defaultDeviceRules) {
		t.Errorf("no resources: %d rules, want the %d defaults", len(r.Devices), len(defaultDeviceRules))
	}
}
