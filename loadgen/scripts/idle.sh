#!/usr/bin/env bash
# Resident memory per idle connection of one edge process. Core (chat,
# presence) and NATS run in a separate salam up, so the edge's figure holds
# only what the edge keeps per connection.
# usage: loadgen/scripts/idle.sh [CONNS=15000]
source "$(dirname "$0")/common.sh"
CONNS=${1:-15000}
start_salam "$WORK/up.log" up --listen 127.0.0.1:18081 --nats-listen 127.0.0.1:14223 --data "$WORK/data"
start_salam "$WORK/edge.log" edge --listen 127.0.0.1:18080 --nats nats://127.0.0.1:14223 --data "$WORK/data"
"$SALAM" loadgen idle --url ws://127.0.0.1:18080/v1/ws --conns "$CONNS" --hold 10s \
	--data "$WORK/data" --target-pid "${PIDS[1]}" --report "${REPORT:-idle.json}"
