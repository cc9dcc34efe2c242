package runtime

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Which containers create makes from a thread of its own, and which need the Go init.
func TestDirectOK(t *testing.T) {
	base := func() *specs.Spec {
		return &specs.Spec{Process: &specs.Process{Args: []string{"/bin/true"}, Cwd: "/"}, Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.NetworkNamespace}, {Type: specs.CgroupNamespace}}}}
	}
	yes := func(bool) bool { return true }
	no := func(newPidNS bool) bool { return !newPidNS } // close_range, but no procfs pidns=
	for _, c := range []struct {
		name   string
		change func(*specs.Spec, *CreateOptions)
		kernel func(bool) bool
		want   bool
	}{
		{"default", func(*specs.Spec, *CreateOptions) {}, yes, true},
		{"no procfs pidns= option", func(*specs.Spec, *CreateOptions) {}, no, false},
		{"host pid namespace, old kernel", func(s *specs.Spec, _ *CreateOptions) { s.Linux.Namespaces = s.Linux.Namespaces[1:] }, no, true},
		{"host pid namespace, kernel before 5.11", func(s *specs.Spec, _ *CreateOptions) { s.Linux.Namespaces = s.Linux.Namespaces[1:] },
			func(bool) bool { return false }, false},
		{"no process", func(s *specs.Spec, _ *CreateOptions) { s.Process = nil }, yes, false},
		{"terminal", func(s *specs.Spec, _ *CreateOptions) { s.Process.Terminal = true }, yes, true},
		{"console socket without terminal", func(_ *specs.Spec, o *CreateOptions) { o.ConsoleSocket = "/tmp/c.sock" }, yes, true},
		{"no-pivot", func(_ *specs.Spec, o *CreateOptions) { o.NoPivot = true }, yes, false},
		{"poststart, poststop, prestart and createRuntime hooks", func(s *specs.Spec, _ *CreateOptions) {
			h := []specs.Hook{{Path: "/bin/true"}}
			s.Hooks = &specs.Hooks{Poststart: h, Poststop: h, Prestart: h, CreateRuntime: h} //nolint:staticcheck // Prestart
		}, yes, true},
		{"a createContainer hook", func(s *specs.Spec, _ *CreateOptions) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true"}}}
		}, yes, false},
		{"a startContainer hook", func(s *specs.Spec, _ *CreateOptions) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
		}, yes, false},
		{"empty hooks", func(s *specs.Spec, _ *CreateOptions) { s.Hooks = &specs.Hooks{} }, yes, true},
		{"host mount namespace", func(s *specs.Spec, _ *CreateOptions) { s.Linux.Namespaces = s.Linux.Namespaces[:1] }, yes, false},
		{"joined network namespace", func(s *specs.Spec, _ *CreateOptions) { s.Linux.Namespaces[2].Path = "/run/netns/x" }, yes, false},
		{"user namespace", func(s *specs.Spec, _ *CreateOptions) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, yes, false},
		{"time namespace", func(s *specs.Spec, _ *CreateOptions) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		}, yes, false},
	} {
		s, o := base(), CreateOptions{}
		c.change(s, &o)
		if got := directOK(s, o, c.kernel); got != c.want {
			t.Errorf("%s: directOK = %v, want %v", c.name, got, c.want)
		}
	}
}
