package runtime

import "encoding/json"

//go:generate sh specjson/gen.sh . statefile.go

// stateFile is State as written, by code easyjson generated (statefile_easyjson.go): the spec
// as package specjson writes it, the rest without encoding/json's reflection, whose tables
// cost every fresh hull process that first meets a type. Unknown fields are skipped, as
// encoding/json does: a state file outlives the hull that wrote it (a container keeps running
// across an upgrade).
//
//easyjson:json
type stateFile struct {
	*State
	Spec json.RawMessage `json:"spec"`
}
