#!/usr/bin/env bash
# Every test of the workspace (run as root: network namespaces, raw sockets, keepalived interop):
# unit and integration tests, doc tests, fuzz-corpus replays, then the IPVS tests in a qemu VM.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root" >&2; exit 1; }
before=$(ip netns list | sort)
# keepalived 2.4.3, the auth_hmac interop peer: built once into /opt/keepalived-2.4.3 (skipped
# when present; without its tarball tests/interop_auth_hmac.rs skips and says why).
bash scripts/peers/keepalived-2.4.3.sh
# The end-to-end tests run the examples as real daemons: build them as normal binaries first.
cargo build --examples
cargo test --workspace --all-targets
cargo test --workspace --doc
bash scripts/ipvs-vm/test.sh
# examples/lvs_director (a [[virtual_server]] run by hakit::Daemon) against the VM's real IPVS:
# checks fail and recover, quorum is lost and regained (sorry server, quorum scripts), with failed
# real servers removed and then quiesced (inhibit_on_failure); a foreign service is left alone;
# then ha_suspend and lvs_sync_daemon: checks run only while a VRRP instance holds the address,
# the sync daemon is master only while it is Master (about 8 s each).
for mode in "" --inhibit; do
  bash scripts/ipvs-vm/run --timeout 300 -- target/debug/examples/lvs_director demo $mode
done
bash scripts/ipvs-vm/run --timeout 300 -- target/debug/examples/lvs_director demo-ha-suspend
# hakitd itself from a keepalived.conf virtual_server, checked with ipvsadm -Ln (about 10 s).
cargo build --bin hakitd
sh scripts/ipvs-vm/hakitd-lvs.sh
# Two hakitd LVS directors with VRRP and lvs_sync_daemon: one TCP connection through the VIP
# survives the Master's death (NAT and DR) and a graceful stop, with a keepalived 2.2.7 peer too,
# and breaks without the sync daemon (about 2 min; the probe is built by `cargo build --examples`
# above).
sh scripts/ipvs-vm/lvs-ha.sh
leftover=$(comm -13 <(echo "$before") <(ip netns list | sort))
[ -z "$leftover" ] || { echo "test.sh: namespaces left behind:"; echo "$leftover"; exit 1; }
