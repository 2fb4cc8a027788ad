# Shared by the benchmark scripts: build salam once, start and stop servers.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/salam-bench.XXXXXX)
SALAM=$WORK/salam
export PATH="$PATH:/usr/local/go/bin"
(cd "$ROOT" && go build -o "$SALAM" ./cmd/salam)
PIDS=()
cleanup() { kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# start_salam LOG ARGS... starts salam in the background and waits for its address.
start_salam() {
	local log=$1; shift
	"$SALAM" "$@" 2>"$log" &
	PIDS+=($!)
	for _ in $(seq 100); do grep -qs "listening on" "$log" && return 0; sleep 0.1; done
	echo "salam $* did not start:" >&2; cat "$log" >&2; exit 1
}

# start_cluster EDGES [salam flags...] starts one salam up (core, NATS; port 18091) and EDGES salam
# edge processes sharing port 18090 (SO_REUSEPORT), so that no process passes the 20,000-file
# limit. Sets URL (the shared WebSocket URL) and EDGE_PIDS. The production path: POSTGRES=URL
# puts chat in Postgres, REDIS=host:port presence and rate limits in Redis.
start_cluster() {
	local edges=$1; shift
	local core=()
	[ -n "${POSTGRES:-}" ] && core+=(--postgres "$POSTGRES")
	[ -n "${REDIS:-}" ] && { core+=(--redis "$REDIS"); set -- "$@" --redis "$REDIS"; }
	start_salam "$WORK/up.log" up --listen 127.0.0.1:18091 --nats-listen 127.0.0.1:14224 --data "$WORK/data" "${core[@]}" "$@"
	EDGE_PIDS=()
	for i in $(seq 1 "$edges"); do
		start_salam "$WORK/edge$i.log" edge --listen 127.0.0.1:18090 --nats nats://127.0.0.1:14224 --data "$WORK/data" "$@"
		EDGE_PIDS+=("${PIDS[-1]}")
	done
	URL=ws://127.0.0.1:18090/v1/ws
}
