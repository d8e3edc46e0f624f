#!/usr/bin/env bash
# Bench in the IPVS VM: 10,000 destinations with ipvs-netlink (batched) vs `ipvsadm -R`, and the
# desired-state apply when 1% change. Prints a Markdown table (medians over the runs).
#
#   scripts/ipvs-vm/bench.sh [runs, default 5] [scheduler, default wrr]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="$(RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build --release -p ipvs-netlink \
    --example vm_bench --target x86_64-unknown-linux-gnu --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)"
exec "$here/run" --timeout 1800 -- "$bin" "${1:-5}" "${2:-wrr}"
