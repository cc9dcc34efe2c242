package initproc

import (
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// securityLabels applies process.apparmorProfile and process.selinuxLabel where the host has the
// module; on a host without it they are ignored, as runc does. Both take effect at the next exec.
func (in *initProc) securityLabels(p *specs.Process) error {
	if p.ApparmorProfile != "" && apparmorEnabled() {
		v := "exec " + p.ApparmorProfile
		if err := in.rec.step("write", v+" > /proc/self/attr/apparmor/exec", func() error {
			return os.WriteFile("/proc/self/attr/apparmor/exec", []byte(v), 0)
		}); err != nil {
			return fmt.Errorf("apparmor profile %s: %w", p.ApparmorProfile, err)
		}
	}
	if p.SelinuxLabel != "" && selinuxEnabled() {
		if err := in.rec.step("write", p.SelinuxLabel+" > /proc/self/attr/exec", func() error {
			return os.WriteFile("/proc/self/attr/exec", []byte(p.SelinuxLabel), 0)
		}); err != nil {
			return fmt.Errorf("selinux label %s: %w", p.SelinuxLabel, err)
		}
	}
	return nil
}

func apparmorEnabled() bool {
	b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	return err == nil && len(b) > 0 && b[0] == 'Y'
}

func selinuxEnabled() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}
