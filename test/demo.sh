#!/bin/sh
# demo.sh HULL: hull's main job on built-in defaults. Installs HULL as /usr/local/bin/hull, builds
# the example image (a busybox root with test/images/httpd as /bin/webd, imported into hull's image
# store: no registry needed), brings up examples/web/compose.yaml (3 replicas behind port 8080) with
# a background supervisor, and asks the port who answers.
set -eu
hull=$1
repo=$(cd "$(dirname "$0")/.." && pwd)
install -m 0755 "$hull" /usr/local/bin/hull
w=$(mktemp -d /tmp/hull-demo-image.XXXXXX)
trap 'rm -rf "$w"' EXIT
mkdir -p "$w/rootfs/bin" "$w/rootfs/proc" "$w/rootfs/dev" "$w/rootfs/sys" "$w/rootfs/tmp" "$w/rootfs/etc"
cp /bin/busybox "$w/rootfs/bin/busybox"
for c in sh ls cat echo hostname id ps sleep touch rm; do ln -s busybox "$w/rootfs/bin/$c"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$w/rootfs/etc/passwd"
echo 'root:x:0:' >"$w/rootfs/etc/group"
(cd "$repo/test" && CGO_ENABLED=0 go build -trimpath -o "$w/rootfs/bin/webd" ./images/httpd)
echo "+ hull image import <busybox + webd> hull-demo/web:1"
hull image import --quiet "$w/rootfs" hull-demo/web:1
echo "+ hull up -d -f examples/web/compose.yaml"
hull up -d -f "$repo/examples/web/compose.yaml"
i=0
until [ "$(hull service ls --format json | grep -o '"ready": *3' | head -1)" ]; do
	i=$((i + 1))
	[ $i -lt 100 ] || { hull service ps demo/web; echo "demo: replicas not ready after 20 s" >&2; exit 1; }
	sleep 0.2
done
hull service ps demo/web
echo "+ six requests to 127.0.0.1:8080"
for i in 1 2 3 4 5 6; do
	printf 'GET / HTTP/1.0\r\n\r\n' | busybox nc -w 2 127.0.0.1 8080 | tail -n 1
done
cat <<'TXT'

The stack keeps running under a background `hull daemon`. Try:
  hull service ps demo/web                              # replicas, health, addresses, restarts
  kill -9 <PID of one replica>; hull service ps demo/web   # replaced after its backoff
  hull service logs -f demo/web
  hull down -p demo                                     # stops it all: containers, rules, network
TXT
