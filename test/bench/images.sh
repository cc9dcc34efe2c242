#!/usr/bin/env bash
# Image pull benchmark: the same image from a local registry (Debian's docker-registry on 127.0.0.1)
# pulled and unpacked by
#   hull         hull image pull into an empty store (fetch, verify, unpack every layer, 3 at once)
#   skopeo+umoci skopeo copy to an OCI layout, then umoci unpack (what a "daemonless" pipeline does)
#   skopeo+tar   skopeo copy to an OCI layout, then tar -x of each layer in order (no whiteouts: a floor)
# each run starting from empty directories. Prints a table with ratios; appends JSON lines to
# $BENCH_OUT when set.
#
#   test/bench/images.sh [path/to/hull]        QUICK=1 for 2 runs instead of 5; KEEP=1 keeps the work dir
#
# Needs root, docker-registry, skopeo, umoci, hyperfine, jq, busybox-static.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
HULL=${1:-${HULL:-$REPO/bin/hull}}
RUNS=${RUNS:-5}
[[ -n ${QUICK:-} ]] && RUNS=2
die() { echo "bench images: $*" >&2; exit 2; }
for t in docker-registry skopeo umoci hyperfine jq busybox ss; do
	command -v "$t" >/dev/null || die "$t missing (make deps)"
done
[[ -x $HULL ]] || die "no hull binary at $HULL (make build)"
[[ $(id -u) == 0 ]] || die "needs root (umoci unpack and hull keep owners)"

W=$(mktemp -d /tmp/hull-bench-img.XXXXXX)
REG_PID=
cleanup() {
	if [[ -n $REG_PID ]]; then
		kill "$REG_PID" 2>/dev/null || true
		wait "$REG_PID" 2>/dev/null || true # the registry's own exit status (SIGTERM) is not ours
	fi
	if [[ -n ${KEEP:-} ]]; then
		echo "kept $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT

# A free loopback port: the first of a few random candidates nothing listens on.
port=
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 20000))
	if ! ss -ltnH "sport = :$p" | grep -q .; then port=$p; break; fi
done
[[ -n $port ]] || die "no free port"
REG=127.0.0.1:$port
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $W/registry
http:
  addr: $REG
EOF
docker-registry serve "$W/registry.yml" >"$W/registry.log" 2>&1 &
REG_PID=$!
for i in $(seq 100); do
	busybox wget -q -O /dev/null "http://$REG/v2/" 2>/dev/null && break
	[[ $i == 100 ]] && die "registry did not start: $(cat "$W/registry.log")"
	sleep 0.05
done

# The image: a busybox layer and two layers of many small files (a language runtime's library),
# built with umoci and pushed with skopeo, as gzip'd OCI layers.
echo "building the test image..."
umoci init --layout "$W/src" >/dev/null
umoci new --image "$W/src:b" >/dev/null
add_layer() { # add_layer SRC_DIR DEST_IN_ROOTFS
	rm -rf "$W/bundle"
	umoci unpack --image "$W/src:b" "$W/bundle" >/dev/null
	mkdir -p "$W/bundle/rootfs/$2"
	cp -a "$1/." "$W/bundle/rootfs/$2/"
	umoci repack --image "$W/src:b" "$W/bundle" >/dev/null
}
mkdir -p "$W/bb/bin" "$W/bb/etc" "$W/bb/tmp"
cp "$(command -v busybox)" "$W/bb/bin/busybox"
for c in sh cat ls true; do ln -s busybox "$W/bb/bin/$c"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$W/bb/etc/passwd"
add_layer "$W/bb" /
n=0
for d in /usr/lib/python3.11 /usr/lib/python3 /usr/share/perl /usr/lib/gcc /usr/share/doc; do
	[[ -d $d ]] || continue
	add_layer "$d" "$d"
	n=$((n + 1))
	[[ $n == 2 ]] && break
done
rm -rf "$W/bundle"
skopeo copy -q --dest-tls-verify=false "oci:$W/src:b" "docker://$REG/bench/img:1"
IMG=$REG/bench/img:1
size=$(du -sm "$W/registry" | cut -f1)
echo "image: $IMG, $((n + 1)) layers, ${size} MB compressed in the registry"

# skopeo+tar: extract every layer of the copied layout in manifest order.
cat >"$W/tarunpack.sh" <<'EOF'
#!/bin/sh
set -e
L=$1; R=$2
mkdir -p "$R"
m=$(jq -r '.manifests[0].digest' "$L/index.json" | cut -d: -f2)
for l in $(jq -r '.layers[].digest' "$L/blobs/sha256/$m" | cut -d: -f2); do
	tar -xzf "$L/blobs/sha256/$l" -C "$R" --numeric-owner
done
EOF
chmod +x "$W/tarunpack.sh"

hyperfine --runs "$RUNS" --warmup 1 --export-json "$W/result.json" --style basic \
	--prepare "rm -rf $W/out; mkdir -p $W/out" \
	-n hull "$HULL --image-dir $W/out/store image pull --quiet $IMG" \
	-n skopeo+umoci "skopeo copy -q --src-tls-verify=false docker://$IMG oci:$W/out/l:img && umoci unpack --image $W/out/l:img $W/out/bundle >/dev/null" \
	-n skopeo+tar "skopeo copy -q --src-tls-verify=false docker://$IMG oci:$W/out/l:img && $W/tarunpack.sh $W/out/l $W/out/rootfs"
rm -rf "$W/out"

echo
jq -r '.results as $r | ($r[] | select(.command == "hull") | .mean) as $h |
	"| tool | mean | ± | hull / tool |", "|---|---|---|---|",
	($r[] | "| \(.command) | \(.mean * 1000 | floor) ms | \((.stddev // 0) * 1000 | floor) ms | \($h / .mean * 100 | floor / 100) |")' "$W/result.json"

if [[ -n ${BENCH_OUT:-} ]]; then
	jq -c '.results[] | {area: "images", case: "pull+unpack", tool: .command, unit: "ms", samples: [.times[] * 1000 | . * 10 | round / 10]}' \
		"$W/result.json" >>"$BENCH_OUT"
fi
