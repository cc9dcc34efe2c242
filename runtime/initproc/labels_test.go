package initproc

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/stub"
)

// TestLSMAttrs: which file gets which value, and what a host without the module narrates.
func TestLSMAttrs(t *testing.T) {
	p := &specs.Process{ApparmorProfile: "web", SelinuxLabel: "u:r:t:s0"}
	for _, tc := range []struct {
		name        string
		host        HostLSM
		want        []stub.Attr
		skippedHave []string
	}{
		{"neither module", HostLSM{}, nil, []string{"AppArmor is not enabled", "SELinux is not enabled"}},
		{"AppArmor since 5.8", HostLSM{AppArmor: "attr/apparmor/exec"},
			[]stub.Attr{{File: "thread-self/attr/apparmor/exec", Value: "exec web"}}, []string{"SELinux is not enabled"}},
		{"AppArmor before 5.8", HostLSM{AppArmor: "attr/exec"},
			[]stub.Attr{{File: "thread-self/attr/exec", Value: "exec web"}}, []string{"SELinux is not enabled"}},
		{"SELinux", HostLSM{SELinux: true},
			[]stub.Attr{{File: "thread-self/attr/exec", Value: "u:r:t:s0"}}, []string{"AppArmor is not enabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs, skipped := tc.host.Attrs(p)
			if !reflect.DeepEqual(attrs, tc.want) {
				t.Errorf("attrs %+v, want %+v", attrs, tc.want)
			}
			if len(skipped) != len(tc.skippedHave) {
				t.Fatalf("skipped %+v, want %d", skipped, len(tc.skippedHave))
			}
			for i, s := range skipped {
				if !s.Skipped || s.Op != "write" || !strings.Contains(s.Args, tc.skippedHave[i]) {
					t.Errorf("skipped[%d] = %+v, want a skipped write saying %q", i, s, tc.skippedHave[i])
				}
			}
			// The stub gets exactly the writes, and Encode takes them.
			prog, err := StubProgram(&specs.Process{Args: []string{"true"}, ApparmorProfile: p.ApparmorProfile, SelinuxLabel: p.SelinuxLabel}, "/bin/true", nil, tc.host)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(prog.Attrs, tc.want) {
				t.Errorf("stubProgram attrs %+v, want %+v", prog.Attrs, tc.want)
			}
			if _, err := stub.Encode(prog); err != nil {
				t.Error(err)
			}
		})
	}
	if attrs, skipped := (HostLSM{AppArmor: "attr/exec", SELinux: true}).Attrs(&specs.Process{}); attrs != nil || skipped != nil {
		t.Errorf("a process without labels: %+v, %+v", attrs, skipped)
	}
}

// TestLSMCheck: a profile the kernel has not loaded fails before anything is made.
func TestLSMCheck(t *testing.T) {
	profiles := filepath.Join(t.TempDir(), "profiles")
	if err := os.WriteFile(profiles, []byte("docker-default (enforce)\nweb (complain)\nmy profile (enforce)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := HostLSM{AppArmor: "attr/apparmor/exec", Profiles: profiles}
	for name, wantErr := range map[string]bool{
		"web": false, "docker-default": false, "my profile": false, "unconfined": false, "": false,
		":ns:web": false, "a//&b": false, // left to the kernel
		"nosuch": true, "docker": true, "web (complain)": true,
	} {
		err := h.Check(&specs.Process{ApparmorProfile: name})
		if (err != nil) != wantErr {
			t.Errorf("check(%q) = %v, want error %v", name, err, wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "is not loaded") {
			t.Errorf("check(%q) = %v", name, err)
		}
	}
	// Without AppArmor, or without securityfs to look in, nothing is refused here.
	for _, h := range []HostLSM{{}, {AppArmor: "attr/exec"}} {
		if err := h.Check(&specs.Process{ApparmorProfile: "nosuch"}); err != nil {
			t.Errorf("%+v: %v", h, err)
		}
	}
}
