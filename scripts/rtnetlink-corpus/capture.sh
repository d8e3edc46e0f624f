#!/usr/bin/env bash
# Capture real rtnetlink replies and events into fuzz/corpus/rtnetlink_replies/ (seed corpus of
# the rtnetlink_replies fuzz target and its stable replay): in a network namespace of its own,
# a veth pair, a VMAC-style macvlan, IPv4 and IPv6 addresses (with a label, nodad, a zero
# preferred lifetime) come and go while monitor.py records the multicast events; then
# dump_and_ack.py records link and address dumps and two acknowledgements. Needs root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../fuzz/corpus/rtnetlink_replies"
ns="rtnlcap$$"
tmp="$(mktemp -d)"
ip netns add "$ns"
trap 'ip netns del "$ns"; rm -rf "$tmp"' EXIT
ip netns exec "$ns" ip link set lo up
ip netns exec "$ns" python3 "$here/monitor.py" "$tmp" &
mon=$!
while [[ ! -e "$tmp/.ready" ]]; do sleep 0.1; done
ip netns exec "$ns" sh -ec '
  ip link add va type veth peer name vb
  ip link set va up; ip link set vb up
  ip link add link va name vrrp.51 address 00:00:5e:00:01:33 type macvlan mode private
  ip addr add 10.200.0.1/24 dev va
  ip addr add 10.200.0.100/24 dev va label va:web
  ip addr add fd00::1/64 dev va nodad
  ip addr add fd00::100/64 dev va preferred_lft 0 nodad
  ip link set vrrp.51 up
  ip addr del 10.200.0.100/24 dev va
  ip link set va down
  ip link del vrrp.51'
ip netns exec "$ns" python3 "$here/dump_and_ack.py" "$tmp"
wait "$mon"
mkdir -p "$out"
cp "$tmp"/* "$out"/
echo "$(ls "$tmp" | wc -l) datagrams in $out"
