#!/usr/bin/env bash
# Scale benchmark: minimal_failover (release) vs keepalived, N VRRPv3 instances in one daemon
# per node, two nodes and an observer, one bridge per segment (no 802.1Q module on these
# kernels), priorities crossed so each node is Master of half the segments.
#
# Per N and implementation: start-up until every instance is in its final state, wrong
# Masters at start-up, RSS and steady CPU per node, the mass failover when node 0 is
# SIGKILLed (per instance it led: its last advert -> node 1's first GARP/NA, minus the RFC
# bound 3 intervals + Skew_Time of priority 100; median and max), the longest advert gap of
# node 1's own Masters meanwhile (in intervals), and the log lines naming ENOBUFS, an overrun
# or an error. The harness is tests/scale_bench.rs (an ignored test).
#
# Usage (root; needs iproute2, tcpdump, keepalived: scripts/setup.sh installs them):
#   bash benches/scale.sh                      # N = 64, 256, 512; about 10 minutes
#   NS="64" ONLY=mf CPU_WINDOW=10 bash benches/scale.sh
#   NS=512 IPV6=1 VMAC=1 ADVERT_MS=100 GRACEFUL=1 bash benches/scale.sh
# NS: segment counts; ONLY: mf or ka; BIN: another minimal_failover binary (HAKIT_SCALE_BIN),
# e.g. a build of an older commit to compare; CPU_WINDOW: seconds of the steady CPU window (30).
# The variant (each off by default, they combine): IPV6=1 an IPv6 instance beside each IPv4
# one (VIP fd00:0:0:<segment>::100/64, announced by unsolicited NAs); VMAC=1 use_vmac on every
# instance (macvlans v<segment>, w<segment>); ADVERT_MS advert interval in ms (1000);
# GRACEFUL=1 node 0 gets SIGTERM instead of SIGKILL (measured from its priority-0 advert
# against Skew_Time of priority 100).
# The markdown table goes to benches/SCALE_RESULTS.table.md (override with OUT=...);
# benches/SCALE_RESULTS.md holds the recorded tables and how to read them.
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
export HAKIT_SCALE_IPV6="${IPV6:-}" HAKIT_SCALE_VMAC="${VMAC:-}"
export HAKIT_SCALE_ADVERT_MS="${ADVERT_MS:-1000}" HAKIT_SCALE_GRACEFUL="${GRACEFUL:-}"
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test scale_bench -- --ignored --nocapture --test-threads 1
echo "scale.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_SCALE_MD"
