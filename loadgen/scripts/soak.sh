#!/usr/bin/env bash
# Soak: DURATION of chat traffic (USERS users in rooms of ROOM, each room publishing RATE
# messages/s) through an edge and a salam up, while a reconnect wave drops 10 % of another
# USERS/4 connections every 30 s. Every minute it samples each salam process's resident
# memory and goroutines (from /debug/pprof, without idle pool workers) into soak.csv. Exits 1 when the chat run lost a
# message, or when memory or goroutines at the end passed the sample taken after the
# first 2 minutes (warm-up) by more than 20 %.
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
echo "minute,process,rss_kib,goroutines" >"$CSV"
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
		echo "$minute,$pid,$rss,${g:-0}" >>"$CSV"
	done
	sleep 60; minute=$((minute + 1))
done
wait $CHAT; status=$?
awk -F, -v status=$status 'NR > 1 {
	if ($1 == 2) { warm_rss[$2] = $3; warm_g[$2] = $4 }
	last_rss[$2] = $3; last_g[$2] = $4
} END {
	for (p in last_rss) {
		printf "pid %s: rss %d KiB after warm-up, %d KiB at the end; goroutines %d, %d\n", p, warm_rss[p], last_rss[p], warm_g[p], last_g[p]
		if (warm_rss[p] && (last_rss[p] > 1.2 * warm_rss[p] || last_g[p] > 1.2 * warm_g[p] + 10)) status = 1
	}
	exit status
}' "$CSV"
