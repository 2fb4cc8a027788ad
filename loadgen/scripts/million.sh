#!/usr/bin/env bash
# Issue 11's socket run: CONNS idle WebSocket connections on one host, spread
# over EDGES salam edge processes sharing one port (SO_REUSEPORT) and over
# ceil(CONNS/15000) loadgen workers with source addresses 127.0.0.2-.250, so
# that no process passes the 20,000-file limit and no address runs out of
# ports. Core and NATS run in one more salam up, on another port.
#
# Prints, from /proc and /sys, memory per connection in user space (edges'
# and workers' RSS) and in the kernel (slab growth: sockets, files, epoll),
# the connect rate, and the edges' CPU while the connections are held.
# usage: loadgen/scripts/million.sh [CONNS=250000] [EDGES=ceil(CONNS/14000)]
source "$(dirname "$0")/common.sh"
CONNS=${1:-250000}
EDGES=${2:-$(((CONNS + 13999) / 14000))}
HOLD=${HOLD:-30s}

kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
rss_kb() { local s=0; for p in "$@"; do s=$((s + $(awk '/^VmRSS:/ { print $2 }' /proc/$p/status 2>/dev/null || echo 0))); done; echo $s; }
cpu_ticks() { local s=0; for p in "$@"; do s=$((s + $(awk '{ print $14 + $15 }' /proc/$p/stat 2>/dev/null || echo 0))); done; echo $s; }

start_cluster "$EDGES"
sleep 2
slab0=$(kb Slab); avail0=$(kb MemAvailable); edges0=$(rss_kb "${EDGE_PIDS[@]}")
echo "$EDGES edge processes up: RSS $((edges0 / 1024)) MiB together; slab $((slab0 / 1024)) MiB; available $((avail0 / 1024)) MiB"

"$SALAM" loadgen idle --url "$URL" --conns "$CONNS" --hold "$HOLD" --settle 5s \
	--rate "${RATE:-10000}" --source-addrs 127.0.0.2-127.0.0.250 --data "$WORK/data" \
	--report "${REPORT:-million.json}" --chart none &
LG=$!
# Sample once every connection is open: when established sockets on the port stop growing.
prev=-1
while kill -0 $LG 2>/dev/null; do
	n=$(ss -Htn state established "( sport = :18090 )" | wc -l)
	[ "$n" -eq "$prev" ] && [ "$n" -gt 0 ] && break
	prev=$n; sleep 5
done
t0=$(cpu_ticks "${EDGE_PIDS[@]}"); sleep 10; t1=$(cpu_ticks "${EDGE_PIDS[@]}")
slab1=$(kb Slab); avail1=$(kb MemAvailable); edges1=$(rss_kb "${EDGE_PIDS[@]}")
workers1=$(rss_kb $(pgrep -f "salam loadgen-worker" || true))
echo "established WebSocket connections: $n"
echo "open files per edge process (min-max): $(for p in "${EDGE_PIDS[@]}"; do ls /proc/$p/fd | wc -l; done | sort -n | sed -n '1p;$p' | paste -sd-)"
awk -v n="$n" -v e0="$edges0" -v e1="$edges1" -v w="$workers1" -v s0="$slab0" -v s1="$slab1" -v a0="$avail0" -v a1="$avail1" \
	-v c="$((t1 - t0))" -v edges="$EDGES" 'BEGIN {
	printf "edges, user space: %.2f KiB per connection (RSS %d -> %d MiB)\n", (e1 - e0) / n, e0 / 1024, e1 / 1024
	printf "loadgen workers, user space: %.2f KiB per connection (RSS %d MiB)\n", w / n, w / 1024
	printf "kernel, both ends: %.2f KiB per connection (slab %d -> %d MiB)\n", (s1 - s0) / n, s0 / 1024, s1 / 1024
	printf "host memory used: %.2f KiB per connection (available %d -> %d MiB)\n", (a0 - a1) / n, a0 / 1024, a1 / 1024
	printf "edges CPU while holding: %.1f%% of one core (%d processes)\n", c / 10, edges
}'
wait $LG
