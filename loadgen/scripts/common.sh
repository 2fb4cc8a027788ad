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
