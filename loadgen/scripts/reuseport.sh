#!/usr/bin/env bash
# EDGES processes share one port with SO_REUSEPORT (one salam up + EDGES-1 salam edge,
# routed over the up's NATS); CONNS connections are opened and each process's share printed.
# usage: loadgen/scripts/reuseport.sh [EDGES=10] [CONNS=15000]
source "$(dirname "$0")/common.sh"
EDGES=${1:-10}; CONNS=${2:-15000}
start_salam "$WORK/up.log" up --listen 127.0.0.1:18090 --nats-listen 127.0.0.1:14222 --data "$WORK/data"
for i in $(seq 2 "$EDGES"); do
	start_salam "$WORK/edge$i.log" edge --listen 127.0.0.1:18090 --nats nats://127.0.0.1:14222 --data "$WORK/data"
done
"$SALAM" loadgen idle --url ws://127.0.0.1:18090/v1/ws --conns "$CONNS" --hold 20s --settle 1s \
	--data "$WORK/data" --report "${REPORT:-reuseport.json}" &
LG=$!
sleep 15
echo "established WebSocket connections per edge process:"
for pid in "${PIDS[@]}"; do
	n=$(ss -Htnp state established "( sport = :18090 )" | grep -c "pid=$pid,")
	echo "  pid $pid: $n"
done
wait $LG
