package initproc

import (
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The bootstrap carries the spec through package specjson; every other field as encoding/json
// writes it.
func TestBootstrapRoundTrip(t *testing.T) {
	in := Bootstrap{ID: "c", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, Debug: true, Fifo: "/f",
		CgroupDirs: []string{"/sys/fs/cgroup/pids/x"}, LSM: HostLSM{AppArmor: "attr/apparmor/exec", SELinux: true},
		Spec: &specs.Spec{Version: "1.2.0", Hostname: "h", Process: &specs.Process{Args: []string{"sh"}, Env: []string{"A=1"}},
			Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}}, Sysctl: map[string]string{"a": "1", "b": "2"}}}}
	b, err := json.Marshal(in) // as the parent sends it: a value
	if err != nil {
		t.Fatal(err)
	}
	var out Bootstrap
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", out, in)
	}
	var none Bootstrap
	if err := json.Unmarshal([]byte(`{"id":"x","spec":null}`), &none); err != nil || none.Spec != nil || none.ID != "x" {
		t.Errorf("a null spec: %+v, %v", none, err)
	}
}
