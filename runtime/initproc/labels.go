package initproc

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/stub"
)

// LSM labels: process.apparmorProfile and process.selinuxLabel. Writing a label to a process's
// /proc/<tid>/attr "exec" file tells the module to apply it at that process's next execve(2);
// hull's C stub does the write (stub.Program.Attrs), after the identity change and right before
// no_new_privs, so the user's program is the first thing to run under it, for create and exec
// alike. The Go side decides what to write here, on the host: the init, after pivot_root, may
// see no /sys of the host at all.

// HostLSM is what the host's kernel offers for process labels. create reads it on the host and
// hands it to the init in the bootstrap; exec reads it itself.
type HostLSM struct {
	// AppArmor is the attr file, under /proc/thread-self, that takes "exec <profile>":
	// attr/apparmor/exec since Linux 5.8, attr/exec before. Empty: AppArmor is not enabled.
	AppArmor string `json:"apparmor,omitempty"`
	// Profiles is the loaded profiles file (securityfs), "" when securityfs is not mounted.
	Profiles string `json:"-"`
	SELinux  bool   `json:"selinux,omitempty"`
}

// ReadHostLSM looks at the running kernel, as runc does: AppArmor is on when its module says
// "Y"; SELinux when selinuxfs is mounted.
func ReadHostLSM() HostLSM {
	var h HostLSM
	if b, err := os.ReadFile("/sys/module/apparmor/parameters/enabled"); err == nil && len(b) > 0 && b[0] == 'Y' {
		h.AppArmor = "attr/exec"
		if _, err := os.Stat("/proc/thread-self/attr/apparmor"); err == nil {
			h.AppArmor = "attr/apparmor/exec"
		}
		if _, err := os.Stat("/sys/kernel/security/apparmor/profiles"); err == nil {
			h.Profiles = "/sys/kernel/security/apparmor/profiles"
		}
	}
	if _, err := os.Stat("/sys/fs/selinux/enforce"); err == nil {
		h.SELinux = true
	}
	return h
}

// LSMFor reads the host's modules when p asks for a label (most processes do not, and pay
// nothing), and refuses a profile the host has not loaded.
func LSMFor(p *specs.Process) (HostLSM, error) {
	if p == nil || p.ApparmorProfile == "" && p.SelinuxLabel == "" {
		return HostLSM{}, nil
	}
	h := ReadHostLSM()
	return h, h.Check(p)
}

// attrs turns p's labels into the stub's writes where the host has the module. A label the
// host cannot apply is left out, as crun does (runc and youki fail instead), and returned in
// skipped, so --explain and --trace say so instead of staying silent.
func (h HostLSM) Attrs(p *specs.Process) (attrs []stub.Attr, skipped []PlannedStep) {
	if v := p.ApparmorProfile; v != "" {
		if h.AppArmor != "" {
			attrs = append(attrs, stub.Attr{File: "thread-self/" + h.AppArmor, Value: "exec " + v})
		} else {
			skipped = append(skipped, PlannedStep{Op: "write", Args: "exec " + v + " > /proc/thread-self/attr/apparmor/exec (AppArmor is not enabled on this host)", Skipped: true})
		}
	}
	if v := p.SelinuxLabel; v != "" {
		if h.SELinux {
			attrs = append(attrs, stub.Attr{File: "thread-self/attr/exec", Value: v})
		} else {
			skipped = append(skipped, PlannedStep{Op: "write", Args: v + " > /proc/thread-self/attr/exec (SELinux is not enabled on this host)", Skipped: true})
		}
	}
	return attrs, skipped
}

// check refuses an AppArmor profile the kernel has not loaded, before anything is made: the
// stub's write would fail only at start, after create reported success. Names in a policy
// namespace or stacked (":ns:name", "a//&b") are left to the kernel.
func (h HostLSM) Check(p *specs.Process) error {
	name := p.ApparmorProfile
	if h.AppArmor == "" || h.Profiles == "" || name == "" || name == "unconfined" || strings.ContainsAny(name, ":&") || strings.Contains(name, "//") {
		return nil
	}
	f, err := os.Open(h.Profiles)
	if err != nil {
		return nil // not allowed to look: the stub's write still decides
	}
	defer f.Close()
	if loaded(bufio.NewScanner(f), name) {
		return nil
	}
	return fmt.Errorf("apparmor profile %q is not loaded (%s)", name, h.Profiles)
}

// loaded reads securityfs's profiles file, one "name (mode)" per line.
func loaded(sc *bufio.Scanner, name string) bool {
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndex(line, " ("); i >= 0 && line[:i] == name {
			return true
		}
	}
	return false
}
