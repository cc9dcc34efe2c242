#!/bin/sh
# build.sh regenerates stub.bin from csrc/stub.c (which includes csrc/lsm.c, csrc/enter.c and csrc/await.c), byte for byte the same each time
# for a given compiler: no build id, no .comment, no symbols, fixed flags.
# It also writes stub.stamp, which records the inputs so build_test.go can tell
# a stale stub.bin even where the compiler differs.
#
#   sh build.sh            writes stub.bin and stub.stamp here
#   sh build.sh OUT        writes only OUT (what the test does)
set -eu
cd "$(dirname "$0")"
CC=${CC:-gcc}
out=${1:-stub.bin}

LC_ALL=C "$CC" \
	-std=gnu11 -Os -Wall -Wextra \
	-static -nostdlib -nostartfiles -ffreestanding -fno-builtin \
	-fno-pie -no-pie -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-ident \
	-ffunction-sections -fdata-sections \
	-Wl,--gc-sections -Wl,--build-id=none -Wl,-s \
	-Wl,-z,noexecstack -Wl,-z,norelro -Wl,-z,noseparate-code \
	-o "$out.tmp" csrc/stub.c
mv "$out.tmp" "$out"

if [ $# -eq 0 ]; then
	{
		echo "csrc/stub.c $(sha256sum <csrc/stub.c | cut -d' ' -f1)"
		echo "csrc/enter.c $(sha256sum <csrc/enter.c | cut -d' ' -f1)"
		echo "csrc/lsm.c $(sha256sum <csrc/lsm.c | cut -d' ' -f1)"
		echo "csrc/await.c $(sha256sum <csrc/await.c | cut -d' ' -f1)"
		echo "build.sh $(sha256sum <build.sh | cut -d' ' -f1)"
		echo "stub.bin $(sha256sum <stub.bin | cut -d' ' -f1)"
		echo "cc $("$CC" --version | head -n1)"
	} >stub.stamp
fi
