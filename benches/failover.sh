#!/usr/bin/env bash
# Failover benchmark: minimal_failover (release) vs keepalived in the same namespace topology.
#
# Hard (SIGKILL) and graceful (SIGTERM) failover, several runs each, for advert intervals
# 1 s (v2), 1 s, 0.1 s and 0.01 s (v3), IPv4 and IPv6. Measured on the wire by a capture in an
# observer namespace: the old Master's last advert -> the new Master's first GARP/NA, next to
# the RFC bound (Master_Down_Interval for hard, Skew_Time for graceful). Also CPU and RSS of
# both daemons while steady, measured in every run before the kill over 50 advert intervals
# (2 s to 5 s): medians over all runs, sample counts and minimal_failover/keepalived ratios.
# The harness is tests/failover_bench.rs (an ignored test).
#
# Usage (root; needs iproute2, tcpdump, keepalived: scripts/setup.sh installs them):
#   bash benches/failover.sh                 # full run, about 27 minutes
#   RUNS=4 ONLY="0.1 s" bash benches/failover.sh
#   CPU_ONLY=1 RUNS=5 ONLY="0.01 s" bash benches/failover.sh
#     CPU/RSS only, no failover: per setting RUNS rounds, each a fresh minimal_failover pair
#     and a fresh keepalived pair running side by side (own topologies), measured over one
#     shared window; prints the CPU/RSS table and the spread of the per-round ratios.
#   CPU_ONLY=1 CPU_WINDOW=30 RUNS=6 ONLY="1 s" bash benches/failover.sh
#     the same with 30 s windows: at 1 s intervals the default window (5 s) holds 5 adverts.
#   DIAG=1 ONLY="0.01 s IPv4" bash benches/failover.sh
#     also prints, per minimal_failover takeover, the new Master's own timing from its log:
#     late_us (woke after the Master_Down_Timer) and actions_done_us (advert, VIPs and
#     GARP/NA done), both from the deadline: tells a slow wake-up from slow actions.
#   SCRAPE_HZ=10 ONLY="0.1 s" OUT=benches/FAILOVER_SCRAPE.table.md bash benches/failover.sh
#     the same failover runs with minimal_failover serving metrics (--metrics-listen) and
#     each node scraped 10 times a second; compare with ONLY="0.1 s" without SCRAPE_HZ.
# RUNS: runs per cell (default 10; 1 s intervals use half, at least 3). ONLY: substring of the
# setting names ("v2 1 s IPv4", "v3 0.1 s IPv6", ...).
# The markdown table is written to benches/FAILOVER_RESULTS.table.md, or with CPU_ONLY=1 to
# benches/FAILOVER_CPU.table.md (override with OUT=...); benches/FAILOVER_RESULTS.md holds the
# table of the last recorded run and how to read it.
# Cargo honours CARGO_TARGET_DIR: the harness finds the example next to its test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "failover.sh: run as root (network namespaces)" >&2; exit 1; }
for t in ip tcpdump keepalived; do
  command -v "$t" >/dev/null || { echo "failover.sh: $t is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
export HAKIT_BENCH_RUNS="${RUNS:-10}"
export HAKIT_BENCH_ONLY="${ONLY:-}"
export HAKIT_BENCH_DIAG="${DIAG:-}"
export HAKIT_BENCH_CPU_ONLY="${CPU_ONLY:-}"
export HAKIT_BENCH_CPU_WINDOW="${CPU_WINDOW:-}"
export HAKIT_BENCH_SCRAPE_HZ="${SCRAPE_HZ:-}"
if [ -n "${CPU_ONLY:-}" ] && [ "${CPU_ONLY}" != 0 ]; then
  export HAKIT_BENCH_MD="${OUT:-$PWD/benches/FAILOVER_CPU.table.md}"
else
  export HAKIT_BENCH_MD="${OUT:-$PWD/benches/FAILOVER_RESULTS.table.md}"
fi
# The test harness runs the example binary next to it: build both with the release profile.
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test failover_bench -- --ignored --nocapture --test-threads 1
echo "failover.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_BENCH_MD"
