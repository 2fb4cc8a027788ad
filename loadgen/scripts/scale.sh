#!/usr/bin/env bash
# Any loadgen scenario at a scale one edge process cannot hold here (20,000 files per process):
# EDGES salam edge processes share one port, core and NATS run in one more salam up.
# usage: loadgen/scripts/scale.sh SCENARIO CONNS [loadgen flags...]
#   e.g. loadgen/scripts/scale.sh broadcast 100000 --messages 10 --publish-rate 1
#        MEMBER_CAP=1000 loadgen/scripts/scale.sh chat 20000 --room-size 1000 --publish-rate 1 --hold 20s
source "$(dirname "$0")/common.sh"
SCENARIO=$1; CONNS=$2; shift 2
EDGES=${EDGES:-$(((CONNS + 13999) / 14000))}
printf 'chat:\n  default_member_cap: %d\n' "${MEMBER_CAP:-256}" >"$WORK/salam.yaml"
start_cluster "$EDGES" --config "$WORK/salam.yaml"
"$SALAM" loadgen "$SCENARIO" --url "$URL" --conns "$CONNS" --rate "${RATE:-3000}" \
	--source-addrs 127.0.0.2-127.0.0.250 --data "$WORK/data" --report "${REPORT:-$SCENARIO.json}" "$@"
