#!/bin/sh
# run.sh NN: run lesson NN (01, 02, ...) with bin/hull (HULL=... to use another binary).
# run.sh all: every lesson in order.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# = 1 ] || { echo "usage: $0 NN|all   (lessons: $(cd "$here" && ls [0-9][0-9]-*.sh | cut -c1-2 | tr '\n' ' '))"; exit 2; }
if [ "$1" = all ]; then
	for l in "$here"/[0-9][0-9]-*.sh; do sh "$l"; done
	exit 0
fi
set -- "$here"/"$1"-*.sh
[ -f "$1" ] || { echo "no lesson $1"; exit 2; }
exec sh "$1"
