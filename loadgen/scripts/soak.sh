#!/usr/bin/env bash
# Soak: DURATION of chat traffic (USERS users in rooms of ROOM, each room publishing RATE
# messages/s) through an edge and a salam up, while a reconnect wave drops 10 % of another
# USERS/4 connections every 30 s. Every minute it samples each salam process's resident
# memory, live heap after a collection and goroutines (from /debug/pprof, without idle pool
# workers) into soak.csv. Exits 1 when the chat run lost a message, or when the floor of any
# of the three over the last 5 minutes passed its floor after warm-up by more than 20 %.
# usage: DURATION=30m loadgen/scripts/soak.sh [USERS=4000] [ROOM=50] [RATE=1]
#   (POSTGRES=URL REDIS=host:port: the production path, as in scale.sh)
source "$(dirname "$0")/common.sh"
USERS=${1:-4000}; ROOM=${2:-50}; RATE=${3:-1}; DURATION=${DURATION:-30m}
CSV=${CSV:-soak.csv}
start_cluster 1 --pprof # one edge: each process answers on its own port (18090, 18091)
"$SALAM" loadgen chat --url "$URL" --conns "$USERS" --room-size "$ROOM" --publish-rate "$RATE" \
	--hold "$DURATION" --data "$WORK/data" --report "${REPORT:-soak.json}" --chart "${CHART:-soak.html}" &
CHAT=$!
"$SALAM" loadgen reconnect --url "$URL" --conns "$((USERS / 4))" --percent 10 --hold "$DURATION" \
	--source-addrs 127.0.0.66-127.0.0.120 --data "$WORK/data" --report "$WORK/reconnect.json" --chart none \
	>/dev/null 2>&1 &
ADDRS=(127.0.0.1:18091 127.0.0.1:18090)
PROFILES=${PROFILES:-} # a directory: heap and goroutine profiles of each process at each minute
[ -n "$PROFILES" ] && mkdir -p "$PROFILES"
echo "minute,process,rss_kib,goroutines,heap_live_kib" >"$CSV"
minute=0
while kill -0 $CHAT 2>/dev/null; do
	for pid in "${PIDS[@]}"; do
		# (no early pipe close, no failing grep: common.sh runs with -e and pipefail)
		rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$pid/status 2>/dev/null || echo 0)
		port=$(ss -Htlnp | awk -v p="pid=$pid," 'index($0, p) && match($4, /127\.0\.0\.1:1809[01]/) { print substr($4, RSTART, RLENGTH) }' | sort -u)
		# goroutines but the worker pools' idle ones, which the pools keep 10 s after a burst
		g=$(curl -s "http://$port/debug/pprof/goroutine?debug=2" | awk 'BEGIN { RS = "" } /^goroutine / {
			split($0, l, "\n"); if (!(l[1] ~ /\[chan receive/ && index(l[2], "github.com/panjf2000/ants/v2.(*goWorker).run.func1") == 1)) n++
		} END { print n + 0 }' || true)
		# live heap after two collections (the second empties the buffer pools' victim caches):
		# what a leak grows, whatever the runtime keeps mapped
		curl -s -o /dev/null "http://$port/debug/pprof/heap?gc=1" || true
		heap=$(curl -s "http://$port/debug/pprof/heap?gc=1&debug=1" | awk '/^# HeapAlloc = / { print int($4 / 1024) }' || true)
		if [ -n "$PROFILES" ]; then
			curl -s -o "$PROFILES/heap-$pid-$minute.pb.gz" "http://$port/debug/pprof/heap" || true
			curl -s -o "$PROFILES/goroutine-$pid-$minute.txt" "http://$port/debug/pprof/goroutine?debug=1" || true
		fi
		echo "$minute,$pid,$rss,${g:-0},${heap:-0}" >>"$CSV"
	done
	sleep 60; minute=$((minute + 1))
done
wait $CHAT; status=$?
# A leak raises the floor: compare each process's lowest sample of minutes 2–6 (after warm-up)
# with its lowest of the last 5 minutes, so single spikes (a burst, a pool not yet emptied) pass.
awk -F, -v status=$status 'NR > 1 { last = $1 > last ? $1 : last; row[NR] = $0 }
function floor_(a, p, v) { if (!(p in a) || v < a[p]) a[p] = v }
END {
	for (r in row) {
		split(row[r], f, ",")
		if (f[1] >= 2 && f[1] <= 6) { floor_(w_rss, f[2], f[3]); floor_(w_g, f[2], f[4]); floor_(w_heap, f[2], f[5]) }
		if (f[1] > last - 5) { floor_(e_rss, f[2], f[3]); floor_(e_g, f[2], f[4]); floor_(e_heap, f[2], f[5]) }
	}
	for (p in e_rss) {
		printf "pid %s, lowest after warm-up then at the end: rss %d, %d KiB; live heap %d, %d KiB; goroutines %d, %d\n",
			p, w_rss[p], e_rss[p], w_heap[p], e_heap[p], w_g[p], e_g[p]
		if (e_rss[p] > 1.2 * w_rss[p] || e_heap[p] > 1.2 * w_heap[p] || e_g[p] > 1.2 * w_g[p] + 10) status = 1
	}
	exit status
}' "$CSV"
