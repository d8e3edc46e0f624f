#!/usr/bin/env bash
# Failover benchmark: minimal_failover (release) vs keepalived in the same namespace topology.
#
# Hard (SIGKILL) and graceful (SIGTERM) failover, several runs each, for advert intervals
# 1 s (v2), 1 s, 0.1 s and 0.01 s (v3), IPv4 and IPv6. Measured on the wire by a capture in an
# observer namespace: the old Master's last advert -> the new Master's first GARP/NA, next to
# the RFC bound (Master_Down_Interval for hard, Skew_Time for graceful). Also CPU and RSS of
# both daemons while steady. The harness is tests/failover_bench.rs (an ignored test).
#
# Usage (root; needs iproute2, tcpdump, keepalived: scripts/setup.sh installs them):
#   bash benches/failover.sh                 # full run, about 10 minutes
#   RUNS=4 ONLY="0.1 s" bash benches/failover.sh
# The markdown table is written to benches/FAILOVER_RESULTS.table.md (override with OUT=...);
# benches/FAILOVER_RESULTS.md holds the table of the last recorded run and how to read it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "failover.sh: run as root (network namespaces)" >&2; exit 1; }
for t in ip tcpdump keepalived; do
  command -v "$t" >/dev/null || { echo "failover.sh: $t is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
export HAKIT_BENCH_RUNS="${RUNS:-10}"
export HAKIT_BENCH_ONLY="${ONLY:-}"
export HAKIT_BENCH_MD="${OUT:-$PWD/benches/FAILOVER_RESULTS.table.md}"
# The test harness runs the example binary next to it: build both with the release profile.
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test failover_bench -- --ignored --nocapture --test-threads 1
echo "failover.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_BENCH_MD"
