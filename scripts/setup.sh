#!/usr/bin/env bash
# Installs what hakit's demo and tests need on a fresh Debian/Ubuntu machine (run as root).
# Idempotent: packages already present are skipped.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
pkgs=(
  iproute2        # ip netns / veth / bridge for the demo and the namespace tests
  keepalived      # the interop peer
  frr             # zebra, bgpd, bfdd: the route announcer's tests and benches/routed.sh
  tcpdump         # wire captures in the observer namespace
  nftables        # random loss on the test bridge (these kernels have no netem)
  procps psmisc   # ps / pkill-free process inspection in tests
  util-linux      # setpriv, setsid: the hostile bench's rows without CAP_BPF, escaping scripts
  qemu-system-x86 busybox-static ipvsadm kmod cpio  # the IPVS VM (scripts/ipvs-vm)
  ca-certificates
  prometheus curl # the metrics test: a real Prometheus scraping the endpoint, promtool's linter
  systemd         # systemd-analyze verify / security on dist/hakitd.service
  # keepalived 2.4.3 built from source (scripts/peers/keepalived-2.4.3.sh), the auth_hmac peer
  autoconf automake libtool pkg-config gcc make libssl-dev
  libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libmnl-dev
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# keepalived, FRR and prometheus are test peers only: never let the packages' own services run.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now keepalived frr prometheus prometheus-node-exporter >/dev/null 2>&1 || true
fi
command -v cargo >/dev/null || { echo "setup.sh: a Rust toolchain (cargo) is required" >&2; exit 1; }
rustup component add rustfmt clippy >/dev/null 2>&1 || true
