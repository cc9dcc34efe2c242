#!/bin/sh
# Regenerates protocol_easyjson.go (go generate ./runtime/initproc) with the easyjson of go.mod,
# as runtime/specjson/gen.sh does (see there for the flags and the line removed).
set -e
cd "$(dirname "$0")"
rm -f protocol_easyjson.go
go run github.com/mailru/easyjson/easyjson -no_std_marshalers -disallow_unknown_fields protocol.go
sed -i -e '/easyjson "github.com\/mailru\/easyjson"/d' -e '/_ easyjson.Marshaler/d' protocol_easyjson.go
gofmt -l . | grep . && exit 1 || true
