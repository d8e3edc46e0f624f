#!/usr/bin/env bash
# Route announcer benchmark: hakit's [[announce]] with real FRR 8.4 in network namespaces (an
# upstream router, two service nodes each with hakit and FRR peering eBGP, a client).
# Prints, as medians over RUNS runs measured in one run (min, max beside): the anycast
# withdraw and re-announce latencies at the upstream's FIB, the VRRP-gated active-standby
# client outage (a request every 10 ms) and path change for a graceful stop and a crash of
# the Master (with a Backup announcing a worse MED and with one that withdraws; hakit and
# keepalived + vtysh notify scripts side by side), a hung node's path removal with BFD 3 x 100 ms and with the BGP hold time, and
# the route's return after FRR restarts on a node. The harness is tests/routed_bench.rs (an
# ignored test); benches/ROUTED_RESULTS.md holds the last recorded run and how to read it.
#
# Usage (root; needs iproute2 and frr: scripts/setup.sh installs them):
#   bash benches/routed.sh            # RUNS=10, about 6 minutes
#   RUNS=3 ONLY="vrrp keepalived" bash benches/routed.sh
#   # cases: anycast vrrp keepalived vrrp-withdraw keepalived-withdraw hung frr
# The table is written to benches/ROUTED_RESULTS.table.md (override with OUT=...).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "routed.sh: run as root (network namespaces)" >&2; exit 1; }
for t in ip keepalived /usr/lib/frr/zebra /usr/lib/frr/bgpd /usr/lib/frr/bfdd vtysh; do
  command -v "$t" >/dev/null || [ -x "$t" ] || { echo "routed.sh: $t is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
export HAKIT_BENCH_RUNS="${RUNS:-10}"
export HAKIT_BENCH_ONLY="${ONLY:-}"
export HAKIT_BENCH_MD="${OUT:-$PWD/benches/ROUTED_RESULTS.table.md}"
# The harness runs the example binary next to it: build both with the release profile.
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test routed_bench -- --ignored --nocapture --test-threads 1
echo "routed.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_BENCH_MD"
