package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/namespaces"
	"github.com/hullrt/hull/runtime/caps"
	"github.com/hullrt/hull/runtime/initproc"
	"github.com/hullrt/hull/runtime/specjson"
)

// loadSpec reads and validates <bundle>/config.json. Unknown fields are accepted, as the spec
// asks ("Implementations ... MUST NOT generate an error if they encounter an unknown property").
func loadSpec(bundle string) (*specs.Spec, error) {
	b, err := readFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("load bundle: %w", err)
	}
	var s specs.Spec
	if err := specjson.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(bundle, "config.json"), err)
	}
	if err := validateSpec(&s); err != nil {
		return nil, fmt.Errorf("invalid config.json: %w", err)
	}
	return &s, nil
}

// validateSpec checks what the spec makes mandatory and what hull must refuse. It is pure.
func validateSpec(s *specs.Spec) error {
	if err := checkOCIVersion(s.Version); err != nil {
		return err
	}
	if s.Root == nil || s.Root.Path == "" {
		return errors.New("root.path is required")
	}
	if s.Linux == nil {
		return errors.New("the linux section is required on Linux")
	}
	if err := namespaces.Validate(s.Linux.Namespaces); err != nil {
		return err
	}
	if err := namespaces.ValidateMappings(s.Linux); err != nil {
		return err
	}
	if s.Hostname != "" && !namespaces.Has(s.Linux.Namespaces, specs.UTSNamespace) {
		return errors.New("hostname needs a private uts namespace")
	}
	if s.Domainname != "" && !namespaces.Has(s.Linux.Namespaces, specs.UTSNamespace) {
		return errors.New("domainname needs a private uts namespace")
	}
	if !namespaces.Has(s.Linux.Namespaces, specs.MountNamespace) {
		// Without its own mount table the container cannot be given these without changing the
		// host's (runc refuses the same).
		if len(s.Linux.MaskedPaths) > 0 || len(s.Linux.ReadonlyPaths) > 0 {
			return errors.New("maskedPaths and readonlyPaths need a private mount namespace")
		}
		if s.Root.Readonly {
			return errors.New("a read-only root needs a private mount namespace")
		}
	}
	if p := s.Process; p != nil {
		if err := validateProcess(p); err != nil {
			return err
		}
	}
	for _, m := range s.Mounts {
		if m.Destination == "" {
			return errors.New("a mount has no destination")
		}
	}
	if err := validateHooks(s.Hooks); err != nil {
		return err
	}
	return nil
}

// checkOCIVersion accepts 1.0.0 up to 1.3.x, with pre-release suffixes like "1.0.2-dev".
func checkOCIVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion is required")
	}
	core, _, _ := strings.Cut(v, "-")
	core, _, _ = strings.Cut(core, "+")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return fmt.Errorf("ociVersion %q is not a semantic version", v)
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || (len(p) > 1 && p[0] == '0') {
			return fmt.Errorf("ociVersion %q is not a semantic version", v)
		}
		n[i] = x
	}
	if n[0] != 1 || n[1] > 3 {
		return fmt.Errorf("ociVersion %q is not supported (hull supports 1.0.0 to 1.3.x)", v)
	}
	return nil
}

func validateProcess(p *specs.Process) error {
	if len(p.Args) == 0 && p.CommandLine == "" {
		return errors.New("process.args must not be empty")
	}
	if p.Cwd == "" || !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd %q must be an absolute path", p.Cwd)
	}
	if c := p.Capabilities; c != nil {
		for _, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			if _, err := caps.Parse(set); err != nil {
				return err
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range p.Rlimits {
		if _, ok := initproc.RlimitResource(r.Type); !ok {
			return fmt.Errorf("unknown rlimit %q", r.Type)
		}
		if seen[r.Type] {
			return fmt.Errorf("rlimit %s is listed more than once", r.Type)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimit %s: soft limit %d is above hard limit %d", r.Type, r.Soft, r.Hard)
		}
		seen[r.Type] = true
	}
	return nil
}

func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	//nolint:staticcheck // Prestart is deprecated but still honoured: Docker relies on it.
	for _, list := range [][]specs.Hook{h.Prestart, h.CreateRuntime, h.CreateContainer, h.StartContainer, h.Poststart, h.Poststop} {
		for _, hk := range list {
			if !filepath.IsAbs(hk.Path) {
				return fmt.Errorf("hook path %q must be absolute", hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return fmt.Errorf("hook %s: timeout must be greater than zero", hk.Path)
			}
		}
	}
	return nil
}

// rootfsPath resolves root.path against the bundle (containerd passes it relative).
func rootfsPath(bundle string, s *specs.Spec) (string, error) {
	p := s.Root.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(bundle, p)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("rootfs %s is not a directory", p)
	}
	return p, nil
}
