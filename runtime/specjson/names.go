package specjson

import "bytes"

// uniqueNames reports whether no object in b, which must be valid JSON, names a member twice,
// comparing names as written; a name with an escape in it counts as a repeat, for "\u0061"
// and "a" are the same name. Objects in a config are small, so each one's names are compared
// in a list, not a map.
func uniqueNames(b []byte) bool {
	type frame struct {
		object  bool
		first   int // this object's first name in names
		wantKey bool
	}
	var stack []frame
	var names [][]byte
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{':
			stack = append(stack, frame{object: true, first: len(names), wantKey: true})
		case '[':
			stack = append(stack, frame{})
		case '}', ']':
			top := stack[len(stack)-1]
			if top.object {
				names = names[:top.first]
			}
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				top.wantKey = true
			}
		case '"':
			j, escaped := i+1, false
			for ; b[j] != '"'; j++ {
				if b[j] == '\\' {
					escaped = true
					j++
				}
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				name := b[i+1 : j]
				if escaped {
					return false
				}
				for _, seen := range names[stack[n-1].first:] {
					if bytes.Equal(seen, name) {
						return false
					}
				}
				names = append(names, name)
				stack[n-1].wantKey = false
			}
			i = j
		}
	}
	return true
}
