#!/usr/bin/env bash
# Scale benchmark: minimal_failover (release) vs keepalived, N VRRPv3 IPv4 instances in one
# daemon per node, two nodes and an observer, one bridge per segment (no 802.1Q module on
# these kernels), priorities crossed so each node is Master of half the segments.
#
# Per N and implementation: start-up until every instance is in its final state, wrong
# Masters at start-up, RSS and steady CPU per node, and the mass failover when node 0 is
# SIGKILLed (per segment it led: its last advert -> node 1's first GARP, minus the RFC bound
# 3 s + 156/256 s; median and max). The harness is tests/scale_bench.rs (an ignored test).
#
# Usage (root; needs iproute2, tcpdump, keepalived: scripts/setup.sh installs them):
#   bash benches/scale.sh                      # N = 64, 256, 512; about 10 minutes
#   NS="64" ONLY=mf CPU_WINDOW=10 bash benches/scale.sh
# NS: segment counts; ONLY: mf or ka; BIN: another minimal_failover binary (HAKIT_SCALE_BIN),
# e.g. a build of an older commit to compare; CPU_WINDOW: seconds of the steady CPU window (30).
# The markdown table goes to benches/SCALE_RESULTS.table.md (override with OUT=...);
# benches/SCALE_RESULTS.md holds the last recorded table and how to read it.
# Cargo honours CARGO_TARGET_DIR: the harness finds the example next to its test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "scale.sh: run as root (network namespaces)" >&2; exit 1; }
for t in ip tcpdump keepalived; do
  command -v "$t" >/dev/null || { echo "scale.sh: $t is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
export HAKIT_SCALE_NS="${NS:-64 256 512}"
export HAKIT_SCALE_ONLY="${ONLY:-}"
[ -n "${BIN:-}" ] && export HAKIT_SCALE_BIN="$BIN"
export HAKIT_SCALE_CPU_WINDOW="${CPU_WINDOW:-30}"
export HAKIT_SCALE_MD="${OUT:-$PWD/benches/SCALE_RESULTS.table.md}"
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test scale_bench -- --ignored --nocapture --test-threads 1
echo "scale.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_SCALE_MD"
