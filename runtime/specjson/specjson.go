package specjson

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/mailru/easyjson/jlexer"
	"github.com/mailru/easyjson/jwriter"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Unmarshal decodes a config.json into s (overwriting it) exactly as encoding/json's Unmarshal does: the same
// result, the same errors. Well-formed input that names only known fields, spelled as the
// spec spells them, takes the generated decoder; anything else (a syntax error, a field of
// another platform or of no platform, a name in other case, a value of the wrong type)
// encoding/json itself, which alone defines the answer. Three checks that build no tables
// decide which input may take the generated path: json.Valid (the generated lexer takes the
// number 01), utf8.Valid (it keeps invalid bytes, encoding/json makes them U+FFFD) and
// uniqueNames (it replaces an object named twice, encoding/json merges the two).
func Unmarshal(b []byte, s *specs.Spec) error {
	if json.Valid(b) && utf8.Valid(b) && uniqueNames(b) {
		var ls linuxSpec
		l := newLexer(b)
		ls.UnmarshalEasyJSON(l)
		if l.Error() == nil {
			*s = ls.spec()
			return nil
		}
	}
	*s = specs.Spec{}
	return json.Unmarshal(b, s)
}

// Marshal encodes s as encoding/json's Marshal does, except that map keys come in no
// particular order, and that the sections for other platforms (solaris, windows, vm, zos) are
// left out: hull reads none of them. A nil spec is null.
func Marshal(s *specs.Spec) ([]byte, error) {
	if s == nil {
		return []byte("null"), nil
	}
	ls := fromSpec(s)
	var w jwriter.Writer
	ls.MarshalEasyJSON(&w)
	return w.BuildBytes()
}

func newLexer(b []byte) *jlexer.Lexer { return &jlexer.Lexer{Data: b} }

func (ls *linuxSpec) spec() specs.Spec {
	return specs.Spec{Version: ls.Version, Process: ls.Process, Root: ls.Root, Hostname: ls.Hostname,
		Domainname: ls.Domainname, Mounts: ls.Mounts, Hooks: ls.Hooks, Annotations: ls.Annotations, Linux: ls.Linux}
}

func fromSpec(s *specs.Spec) linuxSpec {
	return linuxSpec{Version: s.Version, Process: s.Process, Root: s.Root, Hostname: s.Hostname,
		Domainname: s.Domainname, Mounts: s.Mounts, Hooks: s.Hooks, Annotations: s.Annotations, Linux: s.Linux}
}
