#!/usr/bin/env bash
# Chat rooms on salam up: USERS users in rooms of ROOM members, a random member of each
# room publishing RATE messages/s for 20 s; publish → every receipt. Rooms above 256
# members raise the server's group cap (chat.default_member_cap).
# usage: loadgen/scripts/chat.sh [USERS=10000] [ROOM=100] [RATE=1]
source "$(dirname "$0")/common.sh"
ROOM=${2:-100}
printf 'chat:\n  default_member_cap: %d\n' "$(( ROOM > 256 ? ROOM : 256 ))" >"$WORK/salam.yaml"
start_salam "$WORK/up.log" up --listen 127.0.0.1:18080 --data "$WORK/data" --config "$WORK/salam.yaml"
"$SALAM" loadgen chat --url ws://127.0.0.1:18080/v1/ws --conns "${1:-10000}" --room-size "$ROOM" \
	--publish-rate "${3:-1}" --hold 20s --data "$WORK/data" --target-pid "${PIDS[0]}" --report "${REPORT:-chat.json}"
