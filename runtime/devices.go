package runtime

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64 { return &v }

// defaultDeviceRules are the devices every container may use, whatever its spec's device rules
// say: the default devices the spec requires the runtime to create (config-linux.md, "Default
// Devices") and the pty devices. runc adds the same list; without it a "deny all" rule would stop
// the init's own mknod of /dev/null.
var defaultDeviceRules = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(3), Access: "rwm"},     // null
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(5), Access: "rwm"},     // zero
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(7), Access: "rwm"},     // full
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(8), Access: "rwm"},     // random
	{Allow: true, Type: "c", Major: i64(1), Minor: i64(9), Access: "rwm"},     // urandom
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(0), Access: "rwm"},     // tty
	{Allow: true, Type: "c", Major: i64(5), Minor: i64(2), Access: "rwm"},     // ptmx
	{Allow: true, Type: "c", Major: i64(136), Minor: nil, Access: "rwm"},      // pts/*
	{Allow: false, Type: "c", Major: i64(10), Minor: i64(200), Access: "rwm"}, // never tun/tap
}

// deviceResources returns the resources with the default device rules and the spec's
// linux.devices appended after the spec's own rules (later rules win).
func deviceResources(l *specs.Linux) *specs.LinuxResources {
	var r specs.LinuxResources
	if l.Resources != nil {
		r = *l.Resources
	}
	rules := append([]specs.LinuxDeviceCgroup{}, r.Devices...)
	rules = append(rules, defaultDeviceRules...)
	for _, d := range l.Devices {
		typ := d.Type
		switch typ {
		case "u":
			typ = "c" // an unbuffered character device is a character device to the cgroup
		case "b", "c":
		default:
			continue // fifos need no device permission, and the cgroup knows only a, b and c
		}
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: i64(d.Major), Minor: i64(d.Minor), Access: "rwm"})
	}
	r.Devices = rules
	return &r
}
