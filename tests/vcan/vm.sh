#!/usr/bin/env bash
# Boots Debian's kernel (which carries vcan.ko) under qemu with a small initramfs:
# busybox, the CAN modules, dbus-daemon, can-utils, iproute2 and the n2k-dbus
# binary given, and runs a guest script in it. What the guest leaves in /out comes
# back through the second serial port into <work>/out.
#
# usage: vm.sh <guest script> <n2k-dbus binary> <data folder> <work folder>
#
# Everything comes from Debian's packages and nothing installed is changed: qemu
# (qemu-system-x86, its firmware and the libraries the machine lacks) and cpio are
# downloaded and unpacked into <work>/../host and run from there, also where the
# machine has a qemu of its own, so every run uses what a new machine gets; the
# kernel, busybox and can-utils are downloaded into <work>/../debs. dbus-daemon,
# dbus-send and ip, copied into the guest from the host, are installed when missing
# and when that changes no installed package (packaging/debs.sh).
set -euo pipefail

guest=$(realpath "$1")
bin=$(realpath "$2")
data=$(realpath "$3")
work=$4
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
work=$(realpath "$work")
debs=$(dirname "$work")/debs

log() { echo "vm.sh: $*" >&2; }
# shellcheck source=../../packaging/debs.sh
. "$here/../../packaging/debs.sh"

# Host tools.
debs_need dbus-daemon=dbus-daemon dbus-send=dbus-bin dbus-monitor=dbus-bin ip=iproute2 || {
  log "install them by hand: apt-get install dbus-daemon dbus-bin iproute2"
  exit 2
}
host=$(dirname "$work")/host
debs_unpack "$host" qemu-system-x86 cpio || { log "could not fetch qemu-system-x86 and cpio"; exit 2; }
hostlibs=$host/root/usr/lib/x86_64-linux-gnu:$host/root/lib/x86_64-linux-gnu
qemu=(env "LD_LIBRARY_PATH=$hostlibs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  "QEMU_MODULE_DIR=$host/root/usr/lib/x86_64-linux-gnu/qemu"
  "$host/root/usr/bin/qemu-system-x86_64"
  -L "$host/root/usr/share/qemu" -L "$host/root/usr/share/seabios" -L "$host/root/usr/lib/ipxe/qemu")
cpio() { LD_LIBRARY_PATH=$hostlibs "$host/root/bin/cpio" "$@"; }

# Guest packages, downloaded once.
mkdir -p "$debs"
if ! ls "$debs"/linux-image-*.deb >/dev/null 2>&1 || ! ls "$debs"/busybox-static_*.deb >/dev/null 2>&1 \
   || ! ls "$debs"/can-utils_*.deb >/dev/null 2>&1; then
  kernel=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  if [ -z "$kernel" ]; then
    debs_as_root apt-get update -qq
    kernel=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  fi
  [ -n "$kernel" ] || { log "no linux-image-amd64 in the package lists"; exit 2; }
  log "downloading $kernel busybox-static can-utils"
  (cd "$debs" && apt-get download -qq "$kernel" busybox-static can-utils) >&2 2>&1 \
    || { debs_as_root apt-get update -qq && (cd "$debs" && apt-get download -qq "$kernel" busybox-static can-utils); }
fi
pkgs=$work/pkgs
if [ ! -d "$pkgs/boot" ]; then
  rm -rf "$pkgs"
  mkdir -p "$pkgs"
  for d in "$debs"/linux-image-*.deb "$debs"/busybox-static_*.deb "$debs"/can-utils_*.deb; do
    dpkg-deb -x "$d" "$pkgs"
  done
fi
vmlinuz=$(ls "$pkgs"/boot/vmlinuz-* | head -1)
kver=${vmlinuz##*/vmlinuz-}

# The initramfs.
root=$work/root
rm -rf "$root"
mkdir -p "$root"/{bin,usr/bin,sbin,etc,proc,sys,dev,tmp,out,data,lib/modules,run,var/lib/dbus}
cp "$pkgs/bin/busybox" "$root/bin/busybox"
for m in net/can/can.ko net/can/can-raw.ko drivers/net/can/dev/can-dev.ko drivers/net/can/vcan.ko; do
  src="$pkgs/lib/modules/$kver/kernel/$m"
  [ -f "$src" ] || src=$(ls "$src".* 2>/dev/null | head -1)
  cp "$src" "$root/lib/modules/"
done
ipbin=$(command -v ip || echo /usr/sbin/ip)
copy_with_libs() {
  local b=$1 dest=$2
  cp -L "$b" "$root/$dest/"
  ldd "$b" | awk '/=>/ {print $3} /^\t\/.*ld-linux/ {print $1}' | while read -r lib; do
    [ -n "$lib" ] && [ -f "$lib" ] && cp -L --parents "$lib" "$root/"
  done
}
copy_with_libs "$bin" usr/bin
copy_with_libs "$(command -v dbus-daemon)" usr/bin
copy_with_libs "$(command -v dbus-send)" usr/bin
copy_with_libs "$(command -v dbus-monitor)" usr/bin
copy_with_libs "$ipbin" sbin
for t in candump canplayer cansend; do
  copy_with_libs "$pkgs/usr/bin/$t" usr/bin
done
# The loader where binaries look for it.
mkdir -p "$root/lib64"
cp -L /lib64/ld-linux-x86-64.so.2 "$root/lib64/"
cp "$here/bus.conf" "$root/etc/bus.conf"
printf 'root:x:0:0:root:/root:/bin/sh\nmessagebus:x:100:101::/nonexistent:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nmessagebus:x:101:\n' > "$root/etc/group"
echo 0123456789abcdef0123456789abcdef > "$root/etc/machine-id"
cp "$here/init" "$root/init"
cp "$guest" "$root/guest.sh"
cp -r "$data"/. "$root/data/"
chmod +x "$root/init" "$root/guest.sh"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"

# Boot. ttyS0 is the console, ttyS1 carries the results.
rm -rf "$work/out" "$work/results.b64" "$work/console.log"
log "booting $kver (TCG)"
timeout "${VM_TIMEOUT:-900}" "${qemu[@]}" -accel tcg -m 1024 -smp 2 \
  -display none -monitor none -no-reboot \
  -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
  -append "console=ttyS0 loglevel=3 panic=-1 rdinit=/init" \
  -serial "file:$work/console.log" -serial "file:$work/results.b64" \
  -nic none || log "qemu ended with $?"
if ! grep -q "guest finished" "$work/console.log" 2>/dev/null; then
  log "the VM did not finish; its console:"
  tail -50 "$work/console.log" >&2 || true
  exit 3
fi
mkdir -p "$work/out"
tr -d "\r" < "$work/results.b64" | base64 -d | tar -xz -C "$work/out"
log "results in $work/out"
