package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/stub"
)

// TestExecLabels: what the process JSON names wins; what it leaves empty is the container's.
func TestExecLabels(t *testing.T) {
	ctr := &specs.Process{ApparmorProfile: "ctr-profile", SelinuxLabel: "system_u:system_r:container_t:s0:c1,c2"}
	for _, tc := range []struct {
		name                 string
		p, container         *specs.Process
		wantAppArmor, wantSE string
	}{
		{"inherits both", &specs.Process{}, ctr, "ctr-profile", "system_u:system_r:container_t:s0:c1,c2"},
		{"own profile, inherited label", &specs.Process{ApparmorProfile: "other"}, ctr, "other", "system_u:system_r:container_t:s0:c1,c2"},
		{"own label, inherited profile", &specs.Process{SelinuxLabel: "x_u:x_r:x_t:s0"}, ctr, "ctr-profile", "x_u:x_r:x_t:s0"},
		{"own both", &specs.Process{ApparmorProfile: "unconfined", SelinuxLabel: "x_u:x_r:x_t:s0"}, ctr, "unconfined", "x_u:x_r:x_t:s0"},
		{"container without labels", &specs.Process{}, &specs.Process{}, "", ""},
		{"container without a process", &specs.Process{ApparmorProfile: "a"}, nil, "a", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := *tc.p
			got := execLabels(tc.p, tc.container)
			if got.ApparmorProfile != tc.wantAppArmor || got.SelinuxLabel != tc.wantSE {
				t.Errorf("got %q, %q; want %q, %q", got.ApparmorProfile, got.SelinuxLabel, tc.wantAppArmor, tc.wantSE)
			}
			if !reflect.DeepEqual(*tc.p, before) {
				t.Errorf("the caller's process changed: %+v", *tc.p)
			}
		})
	}
}

// TestLSMAttrs: which file gets which value, and what a host without the module narrates.
func TestLSMAttrs(t *testing.T) {
	p := &specs.Process{ApparmorProfile: "web", SelinuxLabel: "u:r:t:s0"}
	for _, tc := range []struct {
		name        string
		host        hostLSM
		want        []stub.Attr
		skippedHave []string
	}{
		{"neither module", hostLSM{}, nil, []string{"AppArmor is not enabled", "SELinux is not enabled"}},
		{"AppArmor since 5.8", hostLSM{AppArmor: "attr/apparmor/exec"},
			[]stub.Attr{{File: "thread-self/attr/apparmor/exec", Value: "exec web"}}, []string{"SELinux is not enabled"}},
		{"AppArmor before 5.8", hostLSM{AppArmor: "attr/exec"},
			[]stub.Attr{{File: "thread-self/attr/exec", Value: "exec web"}}, []string{"SELinux is not enabled"}},
		{"SELinux", hostLSM{SELinux: true},
			[]stub.Attr{{File: "thread-self/attr/exec", Value: "u:r:t:s0"}}, []string{"AppArmor is not enabled"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			attrs, skipped := tc.host.attrs(p)
			if !reflect.DeepEqual(attrs, tc.want) {
				t.Errorf("attrs %+v, want %+v", attrs, tc.want)
			}
			if len(skipped) != len(tc.skippedHave) {
				t.Fatalf("skipped %+v, want %d", skipped, len(tc.skippedHave))
			}
			for i, s := range skipped {
				if !s.skipped || s.op != "write" || !strings.Contains(s.args, tc.skippedHave[i]) {
					t.Errorf("skipped[%d] = %+v, want a skipped write saying %q", i, s, tc.skippedHave[i])
				}
			}
			// The stub gets exactly the writes, and Encode takes them.
			prog, err := stubProgram(&specs.Process{Args: []string{"true"}, ApparmorProfile: p.ApparmorProfile, SelinuxLabel: p.SelinuxLabel}, "/bin/true", nil, tc.host)
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
	if attrs, skipped := (hostLSM{AppArmor: "attr/exec", SELinux: true}).attrs(&specs.Process{}); attrs != nil || skipped != nil {
		t.Errorf("a process without labels: %+v, %+v", attrs, skipped)
	}
}

// TestLSMCheck: a profile the kernel has not loaded fails before anything is made.
func TestLSMCheck(t *testing.T) {
	profiles := filepath.Join(t.TempDir(), "profiles")
	if err := os.WriteFile(profiles, []byte("docker-default (enforce)\nweb (complain)\nmy profile (enforce)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := hostLSM{AppArmor: "attr/apparmor/exec", Profiles: profiles}
	for name, wantErr := range map[string]bool{
		"web": false, "docker-default": false, "my profile": false, "unconfined": false, "": false,
		":ns:web": false, "a//&b": false, // left to the kernel
		"nosuch": true, "docker": true, "web (complain)": true,
	} {
		err := h.check(&specs.Process{ApparmorProfile: name})
		if (err != nil) != wantErr {
			t.Errorf("check(%q) = %v, want error %v", name, err, wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "is not loaded") {
			t.Errorf("check(%q) = %v", name, err)
		}
	}
	// Without AppArmor, or without securityfs to look in, nothing is refused here.
	for _, h := range []hostLSM{{}, {AppArmor: "attr/exec"}} {
		if err := h.check(&specs.Process{ApparmorProfile: "nosuch"}); err != nil {
			t.Errorf("%+v: %v", h, err)
		}
	}
}

// TestRecordSkipped: a skipped step reads as skipped, with no shell command, in both renderings.
func TestRecordSkipped(t *testing.T) {
	var js, text strings.Builder
	r := &Runtime{Trace: Tracers(JSONTracer(&js), Explainer(&text))}
	_, skipped := hostLSM{}.attrs(&specs.Process{ApparmorProfile: "web"})
	r.recordPlanned(SourceStub, skipped)
	if !strings.Contains(js.String(), `"result":"skipped"`) || strings.Contains(js.String(), `"shell"`) {
		t.Errorf("json: %s", js.String())
	}
	if !strings.Contains(text.String(), "[stub, once released; skipped]") || strings.Contains(text.String(), "$ ") {
		t.Errorf("explain: %s", text.String())
	}
}
