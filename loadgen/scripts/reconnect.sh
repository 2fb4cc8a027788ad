#!/usr/bin/env bash
# Reconnect storm on salam up: hold CONNS connections, drop PERCENT % at once, and time
# until every one of them is connected again.
# usage: loadgen/scripts/reconnect.sh [CONNS=15000] [PERCENT=10]
source "$(dirname "$0")/common.sh"
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data"
"$SALAM" loadgen reconnect --url ws://127.0.0.1:18080/v1/ws --conns "${1:-15000}" --percent "${2:-10}" \
	--drain 30s --data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-reconnect.json}"
