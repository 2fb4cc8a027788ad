#!/usr/bin/env bash
# Presence churn on salam up: USERS users in shared channels of 20, PERCENT % of them
# reconnecting each second for 20 s; connect → watchers see online, close → offline,
# and NATS presence messages/s. With REDIS=host:port, presence lives in that Redis and
# its commands/s are reported too.
# usage: [REDIS=127.0.0.1:6379] loadgen/scripts/presence.sh [USERS=10000] [PERCENT=1]
source "$(dirname "$0")/common.sh"
REDIS_ARGS=()
if [ -n "${REDIS:-}" ]; then REDIS_ARGS=(--redis "$REDIS"); fi
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --nats-listen 127.0.0.1:14224 --data "$WORK/data" "${REDIS_ARGS[@]}"
"$SALAM" loadgen presence --url ws://127.0.0.1:18080/v1/ws --conns "${1:-10000}" --room-size 20 \
	--percent "${2:-1}" --hold 20s --nats nats://127.0.0.1:14224 "${REDIS_ARGS[@]}" \
	--data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-presence.json}"
