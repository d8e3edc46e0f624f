#!/usr/bin/env bash
# Capture real IPVS kernel replies into fuzz/corpus/ipvs_reply/ (seed corpus for the
# ipvs_reply fuzz target and the stable replay test). Runs the capture_replies example in the VM.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
bin="$(RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" cargo build -p ipvs-netlink \
    --example capture_replies --target x86_64-unknown-linux-gnu --message-format=json \
    | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n1)"
out="$root/fuzz/corpus/ipvs_reply"
mkdir -p "$out"
n=0
while read -r tag name hex; do
    [[ "$tag" == CAPTURE ]] || continue
    i=0
    while [[ -e "$out/kernel-$name-$i" ]]; do i=$((i + 1)); done
    printf "$(sed 's/../\\x&/g' <<<"$hex")" >"$out/kernel-$name-$i"
    n=$((n + 1))
done < <("$here/run" -- "$bin")
echo "capture-corpus.sh: wrote $n datagrams to $out" >&2
