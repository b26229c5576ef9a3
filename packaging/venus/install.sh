#!/bin/sh
# Installs n2k-dbus on Venus OS, one daemontools service per CAN interface.
#
#   install.sh [--root DIR] [--binary FILE] <if>...   install (or update) for these interfaces
#   install.sh [--root DIR] --uninstall [<if>...]     remove them (all when none is named)
#
# What it creates, all of it under DIR when --root is given (a staging folder, for
# tests and images; every path written into the scripts carries the prefix):
#   /data/n2k-dbus/n2k-dbus              the binary (--binary, default: beside this script)
#   /data/n2k-dbus/install.sh            this script, for updates and --uninstall
#   /data/n2k-dbus/state/                the daemon's state (address, unique number, settings)
#   /data/n2k-dbus/service/<if>/run      runs `n2k-dbus run --interface <if>`; the interface is
#                                        written into the script, not taken from its path
#   /data/n2k-dbus/service/<if>/log/run  multilog into /var/log/n2k-dbus.<if>/
#   /var/log/n2k-dbus.<if>/              the log folder
#   /service/n2k-dbus.<if>               link to the service folder; svscan starts it
#   /data/rc.local                       lines between "# n2k-dbus begin/end" that make the
#                                        links again at boot (/service does not survive one)
# Options for one interface's daemon go in /data/n2k-dbus/<if>.options (one line, e.g.
# `--coexist off` or `--exclude unique:1234`), read at each start; a restart applies
# them: `svc -t /service/n2k-dbus.<if>`.
set -eu

usage() {
  echo "usage: $0 [--root DIR] [--binary FILE] <if>...   or   $0 [--root DIR] --uninstall [<if>...]" >&2
  exit 2
}

root=""
binary=""
uninstall=false
while [ $# -gt 0 ]; do
  case $1 in
    --root) [ $# -ge 2 ] || usage; root=${2%/}; shift 2 ;;
    --binary) [ $# -ge 2 ] || usage; binary=$2; shift 2 ;;
    --uninstall) uninstall=true; shift ;;
    -h|--help) usage ;;
    -*) echo "$0: unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done

for iface in "$@"; do
  case $iface in
    ""|*[!A-Za-z0-9_-]*) echo "$0: '$iface' is not an interface name" >&2; exit 2 ;;
  esac
done

if [ -z "$root" ] && [ ! -d /opt/victronenergy ]; then
  echo "$0: this is not Venus OS (no /opt/victronenergy); use --root DIR to install into a folder" >&2
  exit 2
fi
if [ -n "$root" ]; then
  mkdir -p "$root"
  root=$(cd "$root" && pwd)
fi

home=$root/data/n2k-dbus
rc=$root/data/rc.local
begin="# n2k-dbus begin"
end="# n2k-dbus end"

# Supervision is only touched on the real system: a staged install has none.
svc_cmd() {
  [ -z "$root" ] && command -v svc >/dev/null 2>&1 && svc "$@" 2>/dev/null || true
}

# The interfaces installed now, from the service folders.
installed() {
  [ -d "$home/service" ] || return 0
  for d in "$home"/service/*/; do
    [ -f "$d/run" ] && basename "$d"
  done
  return 0
}

# Rewrites /data/rc.local's block for the interfaces given (none: no block).
write_rc() {
  tmp=$rc.n2k-dbus.$$
  if [ -f "$rc" ]; then
    awk -v b="$begin" -v e="$end" '$0 == b { skip = 1; next } $0 == e { skip = 0; next } !skip' "$rc" > "$tmp"
  else
    printf '#!/bin/sh\n' > "$tmp"
  fi
  if [ $# -gt 0 ]; then
    {
      echo "$begin"
      for i in "$@"; do
        echo "mkdir -p $root/var/log/n2k-dbus.$i"
        echo "ln -sfn $home/service/$i $root/service/n2k-dbus.$i"
      done
      echo "$end"
    } >> "$tmp"
  fi
  # A file that holds nothing but the interpreter line was ours alone.
  if [ "$(grep -cv '^#!/bin/sh$' "$tmp")" -eq 0 ] && [ -f "$home/.rc-local-created" ]; then
    rm -f "$tmp" "$rc"
  else
    chmod 755 "$tmp"
    mv "$tmp" "$rc"
  fi
}

remove() {
  i=$1
  svc_cmd -dx "$root/service/n2k-dbus.$i" "$root/service/n2k-dbus.$i/log"
  rm -f "$root/service/n2k-dbus.$i"
  rm -rf "$home/service/$i" "$root/var/log/n2k-dbus.$i"
  rm -f "$home/$i.options"
  echo "removed n2k-dbus on $i"
}

if $uninstall; then
  [ $# -gt 0 ] || set -- $(installed)
  for i in "$@"; do remove "$i"; done
  # shellcheck disable=SC2046
  set -- $(installed)
  write_rc "$@"
  if [ $# -eq 0 ]; then
    rm -rf "$home"
    echo "removed $home"
  fi
  exit 0
fi

[ $# -gt 0 ] || usage
if [ -z "$binary" ]; then
  binary=$(dirname "$0")/n2k-dbus
  [ -f "$binary" ] || binary=""
fi
if [ -z "$binary" ] && [ ! -x "$home/n2k-dbus" ]; then
  echo "$0: no binary: give --binary FILE (the armv7 build) or put n2k-dbus beside this script" >&2
  exit 2
fi

mkdir -p "$home/state" "$home/service" "$root/service"
[ -f "$rc" ] || touch "$home/.rc-local-created"
if [ -n "$binary" ]; then
  # A new file renamed over the old one: a running daemon keeps its copy.
  cp "$binary" "$home/n2k-dbus.new"
  chmod 755 "$home/n2k-dbus.new"
  mv "$home/n2k-dbus.new" "$home/n2k-dbus"
fi
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
if [ "$self" != "$home/install.sh" ]; then
  cp "$self" "$home/install.sh.new"
  mv "$home/install.sh.new" "$home/install.sh"
fi

for i in "$@"; do
  dir=$home/service/$i
  mkdir -p "$dir/log" "$root/var/log/n2k-dbus.$i"
  cat > "$dir/run.new" <<EOF
#!/bin/sh
# n2k-dbus on $i, started by daemontools (written by install.sh; reinstall to change).
# Extra options: $home/$i.options
exec 2>&1
opts=""
[ -f $home/$i.options ] && opts=\$(cat $home/$i.options)
# --n2k-out: the port's NMEA2000-out switch in the GUI (N2kGatewayEnabled) decides.
# shellcheck disable=SC2086
exec $home/n2k-dbus run --interface $i --state-dir $home/state --n2k-out \$opts
EOF
  cat > "$dir/log/run.new" <<EOF
#!/bin/sh
# The log of n2k-dbus on $i: $root/var/log/n2k-dbus.$i/current (tai64n stamps).
exec multilog t s25000 n4 $root/var/log/n2k-dbus.$i
EOF
  chmod 755 "$dir/run.new" "$dir/log/run.new"
  mv "$dir/run.new" "$dir/run"
  mv "$dir/log/run.new" "$dir/log/run"
  ln -sfn "$dir" "$root/service/n2k-dbus.$i"
  # A running daemon picks up a new binary or script.
  svc_cmd -t "$root/service/n2k-dbus.$i"
  echo "installed n2k-dbus on $i: $root/service/n2k-dbus.$i, log $root/var/log/n2k-dbus.$i/current"
done

# shellcheck disable=SC2046
write_rc $(installed)
