#!/usr/bin/env bash
# Hostile traffic at a running pair, ours and keepalived 2.2.7's side by side (root): junk
# (right VRID, wrong checksum) and valid lower-priority floods to the VRRP group, so at the
# Master and the Backup at once, at 2,000/s, 5,000/s and as fast as the box sends, 20 s each
# (SECS=N to change), VRRPv3 at 0.1 s, priorities 200/100. Ours runs twice: with its eBPF wake
# filter, and without it (started through `setpriv --bounding-set=-bpf,-sys_admin`: without
# CAP_BPF and CAP_SYS_ADMIN the kernel refuses the program and the classic filters serve, as
# on a host that grants only CAP_NET_RAW and CAP_NET_ADMIN). Prints a table (the Backup's
# eBPF programs, frames out per frame in, log lines, the Master's longest advert gap,
# takeovers, where frames were dropped, RSS) and writes it to benches/HOSTILE_RESULTS.table.md
# (OUT=... to change).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "hostile.sh: run as root (network namespaces)" >&2; exit 1; }
for t in ip ss tcpdump keepalived setpriv; do
  command -v "$t" >/dev/null || { echo "hostile.sh: $t is missing (bash scripts/setup.sh)" >&2; exit 1; }
done
export HAKIT_HOSTILE_SECS="${SECS:-20}"
# RATES=0 runs only the rows at the box's maximum, LOSS= none of the loss rows.
[ -n "${RATES+x}" ] && export HAKIT_HOSTILE_RATES="$RATES"
[ -n "${LOSS+x}" ] && export HAKIT_HOSTILE_LOSS="$LOSS"
export HAKIT_HOSTILE_MD="${OUT:-$PWD/benches/HOSTILE_RESULTS.table.md}"
cargo build --release --example minimal_failover
start=$(date +%s)
cargo test --release --test hostile_bench -- --ignored --nocapture --test-threads 1
echo "hostile.sh: done in $(( $(date +%s) - start )) s; table in $HAKIT_HOSTILE_MD"
