#!/usr/bin/env bash
# The loopback benchmarks with the SFU's media datagrams dropped in the
# loopback's queue: after the node's whole send path, before the subscribers'
# receive path, which loopback charges to the sender. Runs in a network
# namespace of its own, so the tc queue touches nothing else. Needs root
# (unshare -n) and tc.
#   sfu/scripts/bench-egress.sh ['Loopback(Mux)?(10|50|200)$'] [packets/s delivered in total]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp /tmp/sfu-bench.XXXXXX)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" ./sfu
unshare -n sh -c 'ip link set lo up &&
  SALAM_SFU_BENCH_DROP_EGRESS=1 SALAM_SFU_BENCH_RATE="$2" "$1" -test.run "^$" -test.bench "$0" -test.benchtime=3000x' \
  "${1:-Loopback(Mux)?(10|50|200)\$}" "$bin" "${2:-}" 2>&1 | grep -v 'quantum of class'
