#!/usr/bin/env bash
# One publish to a channel with N local subscribers on one edge: publish → last receipt.
# usage: loadgen/scripts/fanout.sh [SUBSCRIBERS=10000] [MESSAGES=20]
source "$(dirname "$0")/common.sh"
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data"
"$SALAM" loadgen fanout --url ws://127.0.0.1:18080/v1/ws --conns "${1:-10000}" --messages "${2:-20}" \
	--interval 500ms --data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-fanout.json}"
