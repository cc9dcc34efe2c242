package specjson

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

var otherPlatforms = map[string]bool{"Solaris": true, "Windows": true, "VM": true, "ZOS": true, "FreeBSD": true}

// A runtime-spec upgrade that adds a field to Spec fails here until linuxSpec has it too (and
// `go generate` has run: the generated decoder would refuse the field, and fall back).
func TestLinuxSpecMirrorsSpec(t *testing.T) {
	st, lt := reflect.TypeFor[specs.Spec](), reflect.TypeFor[linuxSpec]()
	n := 0
	for f := range st.Fields() {
		if otherPlatforms[f.Name] {
			continue
		}
		n++
		lf, ok := lt.FieldByName(f.Name)
		if !ok || lf.Type != f.Type || lf.Tag.Get("json") != f.Tag.Get("json") {
			t.Errorf("specs.Spec.%s (%s %q) is not mirrored in linuxSpec", f.Name, f.Type, f.Tag)
		}
	}
	if lt.NumField() != n {
		t.Errorf("linuxSpec has %d fields, specs.Spec %d besides the other platforms'", lt.NumField(), n)
	}
}

// fill sets every field reachable from v to a non-zero value: a config that uses all of the
// spec, whatever version of runtime-spec go.mod names.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 8 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte("bytes"))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), depth+1)
		fill(v.Index(1), depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"a", "b"} {
			key, val := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			if key.Kind() == reflect.String {
				key.SetString(k)
			} else {
				fill(key, depth+1)
			}
			fill(val, depth+1)
			m.SetMapIndex(key, val)
		}
		v.Set(m)
	case reflect.String:
		v.SetString("s-" + v.Type().Name())
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

func fullSpec(t *testing.T) []byte {
	t.Helper()
	var s specs.Spec
	fill(reflect.ValueOf(&s).Elem(), 0)
	s.Solaris, s.Windows, s.VM, s.ZOS, s.FreeBSD = nil, nil, nil, nil, nil
	b, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Unmarshal must answer as encoding/json does: the same spec (compared re-encoded), the same
// error text.
func TestUnmarshalIsEncodingJSON(t *testing.T) {
	full := fullSpec(t)
	inputs := map[string]string{
		"every field":               string(full),
		"every field, and solaris":  strings.Replace(string(full), `{"ociVersion"`, `{"solaris":{"milestone":"m"},"ociVersion"`, 1),
		"empty":                     `{}`,
		"null":                      `null`,
		"nulls":                     `{"process":null,"linux":null,"mounts":null,"annotations":null}`,
		"names in other case":       `{"OCIVERSION":"1.0.2","Process":{"Args":["sh"]}}`,
		"unknown field":             `{"ociVersion":"1.0.2","x-extension":{"a":[1,2]}}`,
		"number for string":         `{"ociVersion": 5}`,
		"string for array":          `{"process": {"args": "x"}}`,
		"negative uid":              `{"process":{"user":{"uid":-1}}}`,
		"uid out of range":          `{"process":{"user":{"uid":4294967296}}}`,
		"float for int":             `{"linux":{"resources":{"memory":{"limit":1.5}}}}`,
		"exponent for int":          `{"linux":{"resources":{"memory":{"limit":1e3}}}}`,
		"leading zero":              `{"process":{"user":{"uid":01}}}`,
		"trailing comma":            `{"ociVersion":"1.0.2",}`,
		"truncated":                 `{"ociVersion":"1.0.2"`,
		"duplicate keys":            `{"hostname":"a","hostname":"b","linux":{"sysctl":{"x":"1"}},"linux":{"sysctl":{"y":"2"}}}`,
		"duplicate, escaped":        `{"hostname":"a","hostn\u0061me":"b","linux":{"sysctl":{"x":"1"}},"lin\u0075x":{"sysctl":{"y":"2"}}}`,
		"same names, other objects": `{"process":{"args":["a"],"user":{"uid":1}},"linux":{"resources":{"devices":[{"allow":false},{"allow":true,"access":"rwm"}]}}}`,
		"null struct":               `{"process":{"user":null,"args":["sh"]}}`,
		"invalid utf-8":             "{\"hostname\":\"a\xffb\"}",
		"escapes":                   `{"hostname":"\u00e9\n\"\\"}`,
		"array at top":              `[]`,
		"mode as string":            `{"linux":{"devices":[{"path":"/dev/x","type":"c","fileMode":"0666"}]}}`,
		"bool for pointer bool":     `{"linux":{"resources":{"memory":{"disableOOMKiller":"yes"}}}}`,
	}
	for name, in := range inputs {
		var want, got specs.Spec
		werr := json.Unmarshal([]byte(in), &want)
		gerr := Unmarshal([]byte(in), &got)
		if (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
			t.Errorf("%s: error %v, encoding/json's %v", name, gerr, werr)
			continue
		}
		wb, _ := json.Marshal(&want)
		gb, _ := json.Marshal(&got)
		if string(wb) != string(gb) {
			t.Errorf("%s: decoded\n%s\nencoding/json decoded\n%s", name, gb, wb)
		}
	}
}

// The generated path must be the one taken for a config that uses every field: otherwise the
// decoder is out of date (go generate) and every config pays for encoding/json.
func TestUnmarshalTakesTheGeneratedPath(t *testing.T) {
	var ls linuxSpec
	l := newLexer(fullSpec(t))
	ls.UnmarshalEasyJSON(l)
	if err := l.Error(); err != nil {
		t.Fatalf("the generated decoder refuses a config with every field: %v (run go generate ./runtime/specjson)", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	var s specs.Spec
	if err := json.Unmarshal(fullSpec(t), &s); err != nil {
		t.Fatal(err)
	}
	b, err := Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	var back specs.Spec
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("encoding/json cannot read Marshal's output: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(&s, &back) {
		want, _ := json.Marshal(&s)
		got, _ := json.Marshal(&back)
		t.Errorf("round trip through Marshal changed the spec:\n%s\nwant\n%s", got, want)
	}
	s.Windows = &specs.Windows{LayerFolders: []string{`C:\x`}}
	if b, _ := Marshal(&s); strings.Contains(string(b), "windows") {
		t.Errorf("Marshal kept another platform's section: %s", b)
	}
}

func TestUniqueNames(t *testing.T) {
	for in, want := range map[string]bool{
		`{}`: true,
		`{"a":1,"b":{"a":2,"b":[{"a":3},{"a":4}]}}`: true,
		`{"a":"\"a\"","b":"a"}`:                     true,
		`["a","a",{"a":1}]`:                         true,
		`{"a":1,"a":2}`:                             false,
		`{"a":{"x":1,"y":{},"x":2}}`:                false,
		`{"a":[{"b":1,"b":1}]}`:                     false,
		`{"a\u0062":1}`:                             false, // escaped: left to encoding/json
		`{"k":{"a":1},"k2":{"a":1}}`:                true,
	} {
		if got := uniqueNames([]byte(in)); got != want {
			t.Errorf("uniqueNames(%s) = %v, want %v", in, got, want)
		}
	}
}
