#!/bin/sh
# Regenerates FILE's easyjson code, FILE_easyjson.go, in DIR with the easyjson of go.mod:
#   gen.sh                     spec_easyjson.go here (go generate ./runtime/specjson)
#   gen.sh DIR FILE [FLAG...]  another package's, with easyjson FLAGs (its go:generate line)
# -no_std_marshalers, always: no MarshalJSON methods, so encoding/json never takes this path by
# itself; -disallow_unknown_fields, here: anything the generated decoder does not know exactly
# (an unknown field, a name in other case) fails it, and specjson.Unmarshal falls back to
# encoding/json. The one use of easyjson's root package, an unused-import guard, goes: that
# package imports net/http, whose initialisers every hull process would pay at start-up
# (≈0.45 ms).
set -e
if [ $# -eq 0 ]; then
	set -- "$(dirname "$0")" spec.go -disallow_unknown_fields
fi
dir=$1 file=$2
shift 2
cd "$dir"
out=${file%.go}_easyjson.go
rm -f "$out"
go run github.com/mailru/easyjson/easyjson -no_std_marshalers "$@" "$file"
sed -i -e '/easyjson "github.com\/mailru\/easyjson"/d' -e '/_ easyjson.Marshaler/d' "$out"
gofmt -l . | grep . && exit 1 || true
