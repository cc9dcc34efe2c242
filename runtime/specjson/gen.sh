#!/bin/sh
# Regenerates spec_easyjson.go (go generate ./runtime/specjson) with the easyjson of go.mod.
# -no_std_marshalers: no MarshalJSON methods, so encoding/json never takes this path by itself;
# -disallow_unknown_fields: anything the generated decoder does not know exactly (an unknown
# field, a name in other case) fails it, and Unmarshal falls back to encoding/json.
# The one use of easyjson's root package, an unused-import guard, goes: that package imports
# net/http, whose initialisers every hull process would pay at start-up (≈0.45 ms).
set -e
cd "$(dirname "$0")"
rm -f spec_easyjson.go
go run github.com/mailru/easyjson/easyjson -no_std_marshalers -disallow_unknown_fields spec.go
sed -i -e '/easyjson "github.com\/mailru\/easyjson"/d' -e '/_ easyjson.Marshaler/d' spec_easyjson.go
gofmt -l . | grep . && exit 1 || true
