package runtime

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestCheckOCIVersion(t *testing.T) {
	for _, v := range []string{"1.0.0", "1.0.2-dev", "1.2.1", "1.3.0", "1.1.0+build.5", specs.Version} {
		if err := checkOCIVersion(v); err != nil {
			t.Errorf("checkOCIVersion(%q) = %v, want ok", v, err)
		}
	}
	for _, v := range []string{"2.0.0", "1.4.0", "0.9.0", "", "1.0", "v1.0.0", "01.0.0", "1.00.0", "1.0.x", "1.0.0.0", "-1.0.0"} {
		if err := checkOCIVersion(v); err == nil {
			t.Errorf("checkOCIVersion(%q) = nil, want an error", v)
		}
	}
}

// validSpec is a small spec that validateSpec accepts; cases mutate a fresh copy.
func validSpec() *specs.Spec {
	return &specs.Spec{
		Version: "1.0.2-dev",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"sh"},
			Cwd:  "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_CHOWN"}, Effective: []string{"CAP_CHOWN"}, Permitted: []string{"CAP_CHOWN"},
			},
			Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 1024}},
		},
		Hostname: "h",
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.UTSNamespace}, {Type: specs.MountNamespace}},
		},
	}
}

func TestValidateSpec(t *testing.T) {
	if err := validateSpec(validSpec()); err != nil {
		t.Fatalf("the base spec is refused: %v", err)
	}
	zero, neg := 0, -1
	for _, c := range []struct {
		name   string
		mutate func(s *specs.Spec)
		want   string // a part of the error
	}{
		{"no ociVersion", func(s *specs.Spec) { s.Version = "" }, "ociVersion"},
		{"ociVersion 2", func(s *specs.Spec) { s.Version = "2.0.0" }, "not supported"},
		{"no root", func(s *specs.Spec) { s.Root = nil }, "root.path"},
		{"empty root path", func(s *specs.Spec) { s.Root.Path = "" }, "root.path"},
		{"no linux", func(s *specs.Spec) { s.Linux = nil }, "linux"},
		{"unknown capability", func(s *specs.Spec) { s.Process.Capabilities.Effective = []string{"CAP_CHOWN", "CAP_BOGUS"} }, "CAP_BOGUS"},
		{"unknown ambient capability", func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"chown"} }, "chown"},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_BOGUS", Soft: 1, Hard: 1})
		}, "RLIMIT_BOGUS"},
		{"duplicate rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1})
		}, "more than once"},
		{"soft above hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 }, "soft limit 2048 is above hard limit 1024"},
		{"relative cwd", func(s *specs.Spec) { s.Process.Cwd = "tmp" }, "absolute"},
		{"empty cwd", func(s *specs.Spec) { s.Process.Cwd = "" }, "absolute"},
		{"empty args", func(s *specs.Spec) { s.Process.Args = nil }, "process.args"},
		{"hostname without uts ns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}
		}, "uts"},
		{"domainname without uts ns", func(s *specs.Spec) {
			s.Hostname = ""
			s.Domainname = "example.org"
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
		}, "uts"},
		{"relative hook path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "bin/hook"}}}
		}, "must be absolute"},
		{"relative poststop hook path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/ok"}, {Path: "hook"}}}
		}, "must be absolute"},
		{"hook timeout 0", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/hook", Timeout: &zero}}}
		}, "timeout"},
		{"hook timeout -1", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/hook", Timeout: &neg}}}
		}, "timeout"},
		{"unknown namespace type", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "bogus"})
		}, "bogus"},
		{"duplicate namespace", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.PIDNamespace})
		}, "more than once"},
		{"mount without destination", func(s *specs.Spec) {
			s.Mounts = []specs.Mount{{Type: "tmpfs", Source: "tmpfs"}}
		}, "destination"},
		{"masked paths without mount ns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.UTSNamespace}}
			s.Linux.MaskedPaths = []string{"/proc/kcore"}
		}, "private mount namespace"},
		{"read-only root without mount ns", func(s *specs.Spec) {
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.UTSNamespace}}
			s.Root.Readonly = true
		}, "private mount namespace"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := validSpec()
			c.mutate(s)
			err := validateSpec(s)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestValidateSpecAccepts: what the spec allows must not be refused.
func TestValidateSpecAccepts(t *testing.T) {
	one := 1
	for _, c := range []struct {
		name   string
		mutate func(s *specs.Spec)
	}{
		{"no process", func(s *specs.Spec) { s.Process = nil }},
		{"commandLine instead of args", func(s *specs.Spec) { s.Process.Args = nil; s.Process.CommandLine = "sh" }},
		{"no hostname, no uts", func(s *specs.Spec) {
			s.Hostname = ""
			s.Linux.Namespaces = []specs.LinuxNamespace{{Type: specs.MountNamespace}}
		}},
		{"no namespaces at all", func(s *specs.Spec) { s.Hostname = ""; s.Linux.Namespaces = nil }},
		{"soft equal to hard", func(s *specs.Spec) { s.Process.Rlimits[0].Soft = s.Process.Rlimits[0].Hard }},
		{"hook with a timeout", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: &one}}}
		}},
		{"all capability sets", func(s *specs.Spec) {
			c := []string{"CAP_SYS_ADMIN", "CAP_NET_ADMIN"}
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: c, Effective: c, Permitted: c, Inheritable: c, Ambient: c}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := validSpec()
			c.mutate(s)
			if err := validateSpec(s); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// TestLoadSpec: unknown fields are accepted ("MUST NOT generate an error if they encounter an
// unknown property"); a missing or truncated config.json is an error naming the file.
func TestLoadSpec(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.json")
	const doc = `{"ociVersion":"1.0.2-dev","someFutureField":{"x":[1,2]},
		"root":{"path":"rootfs","alsoNew":true},
		"process":{"args":["sh"],"cwd":"/","futureKnob":7},
		"linux":{"namespaces":[{"type":"mount"}],"vendorExtension":"x"}}`
	if _, err := loadSpec(dir); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing config.json: %v", err)
	}
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadSpec(dir)
	if err != nil {
		t.Fatalf("unknown fields refused: %v", err)
	}
	if s.Root.Path != "rootfs" || s.Process.Args[0] != "sh" {
		t.Errorf("parsed %+v", s)
	}
	if err := os.WriteFile(cfg, []byte(doc[:len(doc)/2]), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSpec(dir); err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Errorf("truncated config.json: %v", err)
	}
	if err := os.WriteFile(cfg, []byte(`{"ociVersion":"1.0.2-dev","root":{"path":"rootfs"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadSpec(dir); err == nil || !strings.Contains(err.Error(), "invalid config.json") {
		t.Errorf("config.json without linux: %v", err)
	}
}

func TestRootfsPath(t *testing.T) {
	bundle := t.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &specs.Spec{Root: &specs.Root{Path: "rootfs"}}
	if p, err := rootfsPath(bundle, s); err != nil || p != filepath.Join(bundle, "rootfs") {
		t.Errorf("relative root.path: %q, %v", p, err)
	}
	s.Root.Path = filepath.Join(bundle, "rootfs")
	if p, err := rootfsPath("/elsewhere", s); err != nil || p != s.Root.Path {
		t.Errorf("absolute root.path: %q, %v", p, err)
	}
	s.Root.Path = "missing"
	if _, err := rootfsPath(bundle, s); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("missing rootfs: %v", err)
	}
	s.Root.Path = "file"
	if _, err := rootfsPath(bundle, s); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("rootfs that is a file: %v", err)
	}
}
