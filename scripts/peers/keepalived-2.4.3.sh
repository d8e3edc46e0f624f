#!/usr/bin/env bash
# Builds keepalived 2.4.3 (the auth_hmac interop peer) into /opt/keepalived-2.4.3, once: when that
# binary is present and reports 2.4.3 the build is skipped (CI caches /opt/keepalived-2.4.3).
# The tarball is looked for in $HAKIT_PEERS_DIR, ../shared/peers next to the repository, then
# /work/shared/peers. Without a tarball it says so and exits 0: the interop tests then skip.
# Build dependencies are installed by scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix=/opt/keepalived-2.4.3
bin=$prefix/sbin/keepalived
if [ -x "$bin" ] && "$bin" --version 2>&1 | grep -q 'Keepalived v2\.4\.3'; then
  echo "keepalived-2.4.3: $bin present, build skipped"
  exit 0
fi
tarball=
for dir in "${HAKIT_PEERS_DIR:-}" ../shared/peers /work/shared/peers; do
  [ -n "$dir" ] && [ -f "$dir/keepalived-2.4.3.tar.gz" ] && { tarball=$dir/keepalived-2.4.3.tar.gz; break; }
done
if [ -z "$tarball" ]; then
  echo "keepalived-2.4.3: no keepalived-2.4.3.tar.gz (set HAKIT_PEERS_DIR): not built, its interop tests will skip"
  exit 0
fi
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
tar xzf "$tarball" -C "$build"
cd "$build/keepalived-2.4.3"
echo "keepalived-2.4.3: building from $tarball into $prefix"
./autogen.sh >/dev/null 2>&1 || true
./configure --prefix="$prefix" --disable-lvs --disable-snmp --disable-dbus >build.log 2>&1 \
  || { tail -30 build.log; exit 1; }
make -j"$(nproc)" >>build.log 2>&1 || { tail -30 build.log; exit 1; }
make install >>build.log 2>&1 || { tail -30 build.log; exit 1; }
"$bin" --version 2>&1 | head -1
