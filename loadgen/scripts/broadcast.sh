#!/usr/bin/env bash
# A live room: one publisher → VIEWERS subscribers of a broadcast channel, RATE messages/s.
# usage: loadgen/scripts/broadcast.sh [VIEWERS=10000] [MESSAGES=20] [RATE=2]
source "$(dirname "$0")/common.sh"
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data"
"$SALAM" loadgen broadcast --url ws://127.0.0.1:18080/v1/ws --conns "${1:-10000}" --messages "${2:-20}" \
	--publish-rate "${3:-2}" --data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-broadcast.json}"
