#!/usr/bin/env bash
# Resident memory per idle connection of one edge process (salam up).
# usage: loadgen/scripts/idle.sh [CONNS=15000]
source "$(dirname "$0")/common.sh"
CONNS=${1:-15000}
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data"
"$SALAM" loadgen idle --url ws://127.0.0.1:18080/v1/ws --conns "$CONNS" --hold 10s \
	--data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-idle.json}"
