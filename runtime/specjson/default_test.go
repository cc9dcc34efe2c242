package specjson_test

import (
	"encoding/json"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hullrt/hull/runtime"
	"github.com/hullrt/hull/runtime/specjson"
)

// hull's own default configs (hull spec, and --rootless) read the same both ways.
func TestDefaultSpecs(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		b, err := json.MarshalIndent(runtime.DefaultSpec(rootless), "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		var want, got specs.Spec
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if err := specjson.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		wb, _ := json.Marshal(&want)
		gb, _ := json.Marshal(&got)
		if string(wb) != string(gb) {
			t.Errorf("rootless=%v: specjson read\n%s\nencoding/json\n%s", rootless, gb, wb)
		}
	}
}
