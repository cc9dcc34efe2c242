package runtime

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime/initproc"
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

// TestRecordSkipped: a skipped step reads as skipped, with no shell command, in both renderings.
func TestRecordSkipped(t *testing.T) {
	var js, text strings.Builder
	r := &Runtime{Trace: Tracers(JSONTracer(&js), Explainer(&text))}
	_, skipped := initproc.HostLSM{}.Attrs(&specs.Process{ApparmorProfile: "web"})
	r.recordPlanned(SourceStub, skipped)
	if !strings.Contains(js.String(), `"result":"skipped"`) || strings.Contains(js.String(), `"shell"`) {
		t.Errorf("json: %s", js.String())
	}
	if !strings.Contains(text.String(), "[stub, once released; skipped]") || strings.Contains(text.String(), "$ ") {
		t.Errorf("explain: %s", text.String())
	}
}
