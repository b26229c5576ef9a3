#!/usr/bin/env bash
# Builds n2k-dbus for a GX device (32-bit ARMv7, hard float) and checks the binary
# under qemu-arm.
#
#   packaging/cross/armv7.sh                  build, report, smoke test
#   packaging/cross/armv7.sh --build          build and report only
#   packaging/cross/armv7.sh --host <binary>  the smoke test against that host build
#                                             (CI's, from its test build) instead of
#                                             building one
#
# The target is armv7-unknown-linux-musleabihf: a static binary, so it runs on
# every Venus OS release whatever its C library. It is built with the toolchain of
# Cargo.toml's rust-version (the lock resolves for it), linked with Debian's
# arm-linux-gnueabihf-gcc (musl's start files and libc come with Rust's target),
# and stripped. The smoke test runs it under qemu-arm (qemu-user):
#   1. `decode` of every capture in candump-samples/ is byte-identical to the host
#      build's, exit status included;
#   2. `replay --fast --hold` of a capture onto a private dbus-daemon, once by the
#      host build and once by the ARM build: GetItems of every service is the same.
# On a fresh Debian or Ubuntu machine it installs the cross linker and the D-Bus
# tools when that changes no installed package (packaging/debs.sh), unpacks qemu-arm
# (qemu-user-static) into target/cross-host without installing it, and gets the Rust
# toolchain and target via rustup.
set -euo pipefail
cd "$(dirname "$0")/../.."

target=armv7-unknown-linux-musleabihf
build_only=false
host=""
case "${1:-}" in
  --build) build_only=true ;;
  --host) host=$(realpath "${2:?--host takes the binary of a host build}") ;;
esac

log() { echo "armv7.sh: $*" >&2; }
. packaging/debs.sh

need=(arm-linux-gnueabihf-gcc=gcc-arm-linux-gnueabihf file=file)
$build_only || need+=(dbus-daemon=dbus-daemon dbus-send=dbus-bin)
debs_need "${need[@]}" || {
  log "install them by hand: apt-get install gcc-arm-linux-gnueabihf file dbus-daemon dbus-bin"
  exit 2
}
if ! $build_only; then
  debs_unpack target/cross-host qemu-user-static || { log "could not fetch qemu-user-static"; exit 2; }
  qemu_arm=$PWD/target/cross-host/root/usr/bin/qemu-arm-static
fi

# The toolchain of the declared rust-version: what builds here builds for the GX.
msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)
[ -n "$msrv" ] || { log "no rust-version in Cargo.toml"; exit 2; }
toolchain=$msrv
[ "$(echo "$msrv" | tr -cd . | wc -c)" -eq 1 ] && toolchain=$msrv.0
rustup toolchain list | grep -q "^$toolchain-" || rustup toolchain install "$toolchain" --profile minimal >&2
rustup +"$toolchain" target list --installed | grep -qx "$target" || rustup +"$toolchain" target add "$target" >&2

log "building with Rust $toolchain for $target"
# The shipped profile (Cargo.toml: fat LTO, one codegen unit, no symbols). Its own
# target folder (target/gx), so that it can build beside the host's cargo without
# waiting for its lock.
CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_LINKER=arm-linux-gnueabihf-gcc CARGO_TARGET_DIR=target/gx \
  cargo +"$toolchain" build --profile shipped --locked --target "$target" >&2
bin=target/gx/$target/shipped/n2k-dbus

size=$(stat -c %s "$bin")
echo "binary:   $bin"
echo "stripped: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1048576 }') MiB; budget 8 MiB)"
if file "$bin" | grep -q "statically linked"; then
  echo "links:    static (no C library needed: runs on every Venus OS release)"
else
  glibc=$(arm-linux-gnueabihf-objdump -T "$bin" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  echo "links:    dynamic, needs ${glibc:-no versioned glibc symbol}"
fi
[ "$size" -le $((8 * 1048576)) ] || { log "the stripped binary is over 8 MiB"; exit 1; }
$build_only && exit 0

# Smoke test: the host build is the reference.
if [ -z "$host" ]; then
  cargo build --release --locked >&2
  host=target/release/n2k-dbus
fi
work=$(mktemp -d)
cleanup() {
  for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

failed=0
n=0
for capture in candump-samples/*; do
  [ -f "$capture" ] || continue
  case $capture in *.md) continue ;; esac
  name=$(basename "$capture")
  set +e
  "$host" decode "$capture" > "$work/host.json" 2> "$work/host.err"
  host_rc=$?
  "$qemu_arm" "$bin" decode "$capture" > "$work/arm.json" 2> "$work/arm.err"
  arm_rc=$?
  set -e
  n=$((n + 1))
  if [ $host_rc -ne $arm_rc ] || ! cmp -s "$work/host.json" "$work/arm.json"; then
    log "decode of $name differs: exit $host_rc (host) / $arm_rc (arm)"
    diff "$work/host.json" "$work/arm.json" | head -5 >&2 || true
    failed=1
  fi
done
echo "decode:   $n captures, ARM output $([ $failed -eq 0 ] && echo identical || echo DIFFERENT) to the host build's"

# replay_items <binary runner…>: replays the capture onto a fresh private bus and
# prints GetItems of every com.victronenergy service, sorted by name. VRM instances
# (/DeviceInstance) are left out: a service published by address before its NAME was
# heard takes one, and whether it reached the bus before the NAME did depends on
# wall-clock flush timing, which differs between native and emulated runs.
capture=candump-samples/dirona-actisense-serial.raw
replay_items() {
  local bus=$work/bus.$RANDOM
  dbus-daemon --session --address="unix:path=$bus" --nofork --nopidfile > /dev/null 2>&1 &
  local daemon=$!
  local i=0
  while [ ! -S "$bus" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  "$@" replay "$capture" --fast --hold --dbus "unix:path=$bus" > "$work/replay.out" 2>&1 &
  local replay=$!
  # --hold: this line is printed once the capture is through and every change it
  # made is on the bus. Under emulation, beside a test run on both cores, that can
  # take minutes; a replay that never gets there is a failure of its own, not a diff.
  i=0
  until grep -q "holding the services" "$work/replay.out" 2>/dev/null; do
    if ! kill -0 "$replay" 2>/dev/null || [ $i -ge 6000 ]; then
      log "$(basename "$1") replay did not reach its hold (ran $((i / 10)) s):"
      tail -n 5 "$work/replay.out" >&2
      kill -TERM "$replay" "$daemon" 2>/dev/null; wait "$replay" "$daemon" 2>/dev/null || true
      return 1
    fi
    sleep 0.1; i=$((i + 1))
  done
  local names
  names=$(dbus-send --bus="unix:path=$bus" --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames \
    | grep -o '"com\.victronenergy\.[^"]*"' | tr -d '"' | sort)
  for svc in $names; do
    echo "=== $svc"
    dbus-send --bus="unix:path=$bus" --print-reply --dest="$svc" / com.victronenergy.BusItem.GetItems | tail -n +2 \
      | awk '/string "\/DeviceInstance"/ { skip = 10 } skip > 0 && /variant/ { sub(/variant.*/, "variant (VRM instance)") } { if (skip > 0) skip--; print }'
  done
  kill -TERM "$replay" 2>/dev/null; wait "$replay" 2>/dev/null || true
  kill -TERM "$daemon" 2>/dev/null; wait "$daemon" 2>/dev/null || true
}
held=true
replay_items "$host" > "$work/host.items" || held=false
$held && { replay_items "$qemu_arm" "$bin" > "$work/arm.items" || held=false; }
services=$(grep -c '^===' "$work/host.items" || true)
if ! $held; then
  failed=1
elif [ "$services" -eq 0 ]; then
  log "the host replay published no service"; failed=1
elif ! diff -u "$work/host.items" "$work/arm.items" > "$work/items.diff"; then
  head -n 60 "$work/items.diff" >&2
  log "GetItems after the ARM replay differs from the host's ($(grep -c '^[-+][^-+]' "$work/items.diff") lines)"; failed=1
fi
echo "replay:   $services services of $(basename "$capture"), GetItems $([ $failed -eq 0 ] && echo identical || echo DIFFERENT) to the host build's"
exit $failed
