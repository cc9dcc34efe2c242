#!/bin/sh
# build.sh regenerates relay.bin from relay.c: static (musl when musl-gcc is there), stripped,
# no build id, so the same compiler gives the same bytes. relay.stamp records the inputs so
# relay_test.go can tell a stale relay.bin.
#
#   sh build.sh            writes relay.bin and relay.stamp here
#   sh build.sh OUT        writes only OUT
set -eu
cd "$(dirname "$0")"
CC=${CC:-$(command -v musl-gcc || echo gcc)}
out=${1:-relay.bin}
LC_ALL=C "$CC" -std=gnu11 -Os -Wall -Wextra -static -fno-ident -fno-asynchronous-unwind-tables \
	-ffunction-sections -fdata-sections -Wl,--gc-sections -Wl,--build-id=none -Wl,-s \
	-o "$out.tmp" relay.c
mv "$out.tmp" "$out"
if [ $# -eq 0 ]; then
	{
		echo "relay.c $(sha256sum <relay.c | cut -d' ' -f1)"
		echo "build.sh $(sha256sum <build.sh | cut -d' ' -f1)"
		echo "relay.bin $(sha256sum <relay.bin | cut -d' ' -f1)"
		echo "cc $(basename "$CC") $(gcc --version | head -n1)"
	} >relay.stamp
fi
