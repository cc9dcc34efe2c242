package specjson

import specs "github.com/opencontainers/runtime-spec/specs-go"

//go:generate sh gen.sh

// linuxSpec is specs.Spec without the sections for other platforms (solaris, windows, vm,
// zos), which a Linux runtime never reads: easyjson generates its decoder and encoder
// (spec_easyjson.go) for it and for every type it reaches. TestLinuxSpecMirrorsSpec keeps
// it in step with runtime-spec.
//
//easyjson:json
type linuxSpec struct {
	Version     string            `json:"ociVersion"`
	Process     *specs.Process    `json:"process,omitempty"`
	Root        *specs.Root       `json:"root,omitempty"`
	Hostname    string            `json:"hostname,omitempty"`
	Domainname  string            `json:"domainname,omitempty"`
	Mounts      []specs.Mount     `json:"mounts,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Linux       *specs.Linux      `json:"linux,omitempty"`
}
