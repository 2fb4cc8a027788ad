#!/usr/bin/env bash
# DM pairs on salam up: USERS/2 pairs, each side publishing RATE messages/s for 20 s.
# usage: loadgen/scripts/dm.sh [USERS=10000] [RATE=1]
source "$(dirname "$0")/common.sh"
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data"
"$SALAM" loadgen dm --url ws://127.0.0.1:18080/v1/ws --conns "${1:-10000}" --publish-rate "${2:-1}" --hold 20s \
	--data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-dm.json}"
