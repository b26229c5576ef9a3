# Debian packages for the project's scripts, without changing the machine's own.
# Sourced by tests/vcan/vm.sh, packaging/cross/armv7.sh and .ci/run.
#
#   debs_unpack <folder> <package>...
#       Downloads each package and every dependency the machine does not have
#       (`apt-get download`, recommends left out) into <folder>/debs and unpacks them
#       (`dpkg-deb -x`) into <folder>/root. Nothing is installed: the machine's
#       packages stay as they are whatever their versions. A second call with the
#       same packages reuses the tree. Prints nothing on success.
#   debs_install <package>...
#       Installs the packages only where apt says it would neither remove, upgrade
#       nor downgrade anything (checked with a simulated install first); else says
#       what stands in the way and returns 1, changing nothing.
#   debs_need <command>=<package>...
#       debs_install of the packages whose command is not on PATH.
#
# Both need the package lists; `apt-get update` is run once when they are missing
# (as root or with password-less sudo; without either, the scripts say what to run).

debs_log() { echo "debs: $*" >&2; }

debs_as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif sudo -n true 2>/dev/null; then sudo -n "$@"
  else
    debs_log "needs root for: $*"
    return 2
  fi
}

# The package lists, fetched once per process when apt knows no candidate.
debs_lists() {
  local p=$1
  if [ -z "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}')" ]; then
    [ -n "${DEBS_UPDATED:-}" ] && return 0
    debs_log "apt-get update (no candidate for $p)"
    debs_as_root apt-get update -qq >&2 || return 2
    DEBS_UPDATED=1
  fi
}

debs_installed() {
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'
}

debs_unpack() {
  local dir=$1
  shift
  mkdir -p "$dir"
  dir=$(realpath "$dir")
  local stamp="$dir/root/.packages"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$*" ]; then
    return 0
  fi
  local p
  for p in "$@"; do debs_lists "$p" || return 2; done
  # The dependency closure; alternatives are all taken (harmless in a private tree).
  local closure missing=()
  closure=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^[ <]' | sort -u)
  for p in $closure; do
    debs_installed "$p" || missing+=("$p")
  done
  rm -rf "$dir/debs" "$dir/root"
  mkdir -p "$dir/debs" "$dir/root"
  debs_log "downloading ${#missing[@]} packages for $* into $dir"
  (cd "$dir/debs" && apt-get download -qq "${missing[@]}") >&2 2>&1 || {
    debs_log "apt-get download failed for: ${missing[*]}"
    return 2
  }
  local d
  for d in "$dir"/debs/*.deb; do
    dpkg-deb -x "$d" "$dir/root"
  done
  echo "$*" > "$stamp"
}

debs_install() {
  [ $# -gt 0 ] || return 0
  local p
  for p in "$@"; do debs_lists "$p" || return 2; done
  local plan
  plan=$(apt-get install -s -qq --no-install-recommends "$@" 2>&1) || {
    debs_log "apt cannot install $*:"
    echo "$plan" | tail -5 >&2
    return 1
  }
  # A new package is `Inst name (version …)`; an upgrade or downgrade carries the
  # installed version in brackets: `Inst name [old] (new …)`.
  local changes
  changes=$(echo "$plan" | grep -E '^(Remv|Purg)|^Inst [^ ]+ \[' || true)
  if [ -n "$changes" ]; then
    debs_log "installing $* would change installed packages; not done:"
    echo "$changes" | head -10 >&2
    return 1
  fi
  debs_log "installing $*"
  DEBIAN_FRONTEND=noninteractive debs_as_root apt-get install -y -qq --no-install-recommends \
    --no-remove --no-upgrade "$@" >&2
}

debs_need() {
  local want=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || want+=("${pair#*=}")
  done
  debs_install "${want[@]}"
}
