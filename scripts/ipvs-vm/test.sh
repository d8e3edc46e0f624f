#!/usr/bin/env bash
# Build ipvs-netlink's VM integration tests as a static binary and run them inside the IPVS VM.
#
#   scripts/ipvs-vm/test.sh [extra libtest args, e.g. a test name filter]
#
# This is what CI runs. The host tests (`cargo test -p ipvs-netlink`) run without IPVS; the
# tests in ipvs-netlink/tests/vm_ipvs.rs are #[ignore]d there and run here with --ignored.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

target=x86_64-unknown-linux-gnu
build() { # $1 = cargo args...; prints the executables
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
        cargo "$@" --target "$target" --message-format=json \
        | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p'
}
bin="$(build test -p ipvs-netlink --test vm_ipvs --no-run | tail -n1)"
[[ -x "$bin" ]] || { echo "test.sh: no test binary built" >&2; exit 1; }
echo "test.sh: running $bin in the IPVS VM" >&2
exec "$here/run" --timeout "${IPVS_VM_TIMEOUT:-600}" -- "$bin" --ignored --test-threads=1 "$@"
