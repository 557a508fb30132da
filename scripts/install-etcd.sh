#!/usr/bin/env bash
# Makes sure an etcd binary is there for the tests that run real etcd clusters on loopback
# (crates/etcd-harness, used by the store's contract suite and the end-to-end tests of the
# etcd backend). It installs Debian's `etcd-server` (etcd 3.4) when `etcd` is not on PATH,
# is quiet when it already is, and prints the version either way.
#
#   ECSCTL_ETCD=/path/to/etcd   use that binary instead (the harness honours the same variable)
#
# The tests start their own members on free ports; they never want the packaged service. The
# package's maintainer script starts one through invoke-rc.d where it can, so while apt runs we
# put a policy-rc.d in place that refuses service starts (only when none exists, and it is
# removed on exit). If an etcd listens on the default ports 2379/2380 afterwards anyway, this
# script says so and leaves it alone: it did not start it, so it is not this script's to stop.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

etcd_bin() {
  if [ -n "${ECSCTL_ETCD:-}" ]; then
    printf '%s\n' "$ECSCTL_ETCD"
  else
    command -v etcd || true
  fi
}

# Who listens on etcd's default client and peer ports, one line each ("" when nobody does).
# Without ss (iproute2 is not on every minimal image), a connection attempt tells as much.
default_port_listeners() {
  if command -v ss >/dev/null; then
    ss -Hltnp 2>/dev/null | awk '$4 ~ /:(2379|2380)$/' || true
    return
  fi
  local port
  for port in 2379 2380; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "127.0.0.1:$port accepts connections"
    fi
  done
}

bin=$(etcd_bin)
if [ -n "${ECSCTL_ETCD:-}" ] && [ ! -x "$bin" ]; then
  echo "ECSCTL_ETCD=$bin is not an executable file" >&2
  exit 1
fi

if [ -z "$bin" ]; then
  before=$(default_port_listeners)
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  cleanup() {
    if [ "$own_policy" = 1 ]; then as_root rm -f "$policy"; fi
  }
  trap cleanup EXIT
  if [ ! -e "$policy" ]; then
    # Exit status 101 is "action forbidden" to invoke-rc.d and deb-systemd-invoke.
    own_policy=1
    printf '#!/bin/sh\n# temporary, from ecsctl scripts/install-etcd.sh\nexit 101\n' |
      as_root tee "$policy" >/dev/null
    as_root chmod 755 "$policy"
  fi

  echo "installing Debian's etcd-server..." >&2
  apt_install etcd-server

  # An init script that was allowed to run starts etcd in the background: give it a moment.
  sleep 1
  after=$(default_port_listeners)
  if [ -n "$after" ] && [ "$after" != "$before" ]; then
    echo "warning: something listens on etcd's default ports 2379/2380 after the install" >&2
    echo "(the package's service?). It is left alone; the tests use their own ports:" >&2
    printf '  %s\n' "$after" >&2
  fi

  bin=$(etcd_bin)
  if [ -z "$bin" ]; then
    echo "etcd-server is installed but etcd is still not on PATH" >&2
    exit 1
  fi
fi

# sed, not head: head exits after one line and etcd, still writing, dies of SIGPIPE, which
# pipefail makes this script's exit status now and then.
"$bin" --version | sed -n 1p
