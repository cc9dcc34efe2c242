#!/bin/sh
# Lesson 05: a published port.
# A container's address lives on a bridge only its host can reach. Publishing a port asks the
# kernel to rewrite the destination of connections to host:8080 into container:80 (DNAT, in
# nftables' nat hooks), and to masquerade the container's answers. One thing the kernel will
# not do without weakening every interface (route_localnet, CVE-2020-8558) is DNAT a
# connection to 127.0.0.1: for that hull runs a 20 KB splice relay. All of it happens inside a
# network namespace this lesson makes (the "lab host").
. "$(dirname "$0")/lib.sh"
lab_ns=$(basename "$lab")
ip netns add "$lab_ns"
later "ip netns del $lab_ns"
ip -n "$lab_ns" link set lo up
labhull() { nsenter --net="/run/netns/$lab_ns" "$HULL" --root "$lab/state" --network-dir "$lab/networks" "$@"; }
labhost() { ip netns exec "$lab_ns" "$@"; }
# get ADDR PORT: one HTTP request from the lab host, the answer's body.
get() { printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec "$lab_ns" busybox nc -w 2 "$1" "$2" | tail -n 1; }

labhull network create --subnet 10.77.5.0/24 lab05 >/dev/null
later "labhull network rm lab05"

say "Before: hull's nftables table knows no port"
show "labhost nft list map inet hull services"

say "A web server, published: --network attaches it, --publish 8080:80 makes the rules"
bundle "$lab/b" '"httpd", "-f", "-p", "80", "-h", "/www"'
mkdir -p "$lab/b/rootfs/www" && echo "hello from the container" >"$lab/b/rootfs/www/index.html"
show "cd $lab/b && labhull --explain create --network lab05 --publish 8080:80 web </dev/null >$lab/create.log 2>&1"
later "labhull delete --force web"
labhull start web
show "grep -E '^ +[0-9]+ nftables' $lab/create.log | head -n 3"

say "After: a dispatch map entry, a round-robin chain, a DNAT to the container"
show "labhost nft list map inet hull services"
show "labhost nft list table inet hull | grep -E 'dnat|numgen'"
gw=$(labhost ip -4 -o addr show | awk '$4 ~ /^10\.77\.5\./ {print $4}' | cut -d/ -f1)
ctr=$(labhull state web | sed -n 's/^ *"address": "\(.*\)",*$/\1/p')
echo "gateway (the lab host's address on the bridge): $gw, container: $ctr"

say "The port answers on the lab host's address: the kernel rewrote the destination"
show "get $gw 8080"
expect "host:8080 reaches the container's port 80" sh -c "[ \"\$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $lab_ns busybox nc -w 2 $gw 8080 | tail -n 1)\" = 'hello from the container' ]"
show "labhost cat /proc/net/nf_conntrack 2>/dev/null | grep 'dport=8080' | head -n 1 || labhost conntrack -L 2>/dev/null | head -n 1"

say "127.0.0.1:8080 answers too, through the relay (route_localnet stays 0)"
show "get 127.0.0.1 8080"
expect "127.0.0.1:8080 reaches the container" sh -c "[ \"\$(printf 'GET / HTTP/1.0\r\n\r\n' | ip netns exec $lab_ns busybox nc -w 2 127.0.0.1 8080 | tail -n 1)\" = 'hello from the container' ]"
show "labhost cat /proc/sys/net/ipv4/conf/all/route_localnet"
show "ps -eo pid,rss,args | grep '[h]ull-relay'"

say "Delete: the rules and the relay go with the container"
labhull delete --force web
show "labhost nft list map inet hull services"
expect "no port is left in the dispatch map" sh -c "! ip netns exec $lab_ns nft list map inet hull services | grep -q 8080"
echo
echo "lesson 05: PASS"
