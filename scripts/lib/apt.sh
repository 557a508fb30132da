# Shared by the scripts/install-*.sh scripts (sourced, not run): installing Debian packages
# on a fresh machine, as root or through sudo.

# The command prefix that runs a command as root: nothing for root, `sudo` otherwise. Exits
# with a message naming the packages to install by hand when neither works.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "installing needs root and there is no sudo here; run as root: $*" >&2
    exit 1
  fi
}

# apt_install PACKAGE...: installs the packages quietly; when that fails (most often a fresh
# machine whose package lists are missing or stale) it updates the lists and tries once
# more, showing apt's output if that fails too.
apt_install() {
  local log
  log=$(mktemp)
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$log" 2>&1; then
    as_root apt-get update -qq
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$log" 2>&1; then
      cat "$log" >&2
      rm -f "$log"
      return 1
    fi
  fi
  rm -f "$log"
}
