#!/usr/bin/env bash
# Makes sure the tools that enforce security groups are there: `iptables-restore` (Debian's
# iptables package), which the agent runs inside each awsvpc task's network namespace, and
# `nsenter` (util-linux, always on Debian), which enters it. Installs iptables when missing,
# is quiet when it is there, and prints the version either way. The server and agents need
# them on the host that runs the tasks; without them, tasks in named security groups fail to
# start (they never run unfiltered) and default-group tasks run as before, with a warning.
set -euo pipefail

if ! command -v iptables-restore >/dev/null; then
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "iptables is not installed and installing it needs root (no sudo here):" >&2
      echo "  apt-get install iptables" >&2
      exit 1
    fi
    sudo=(sudo)
  fi
  echo "installing Debian's iptables..." >&2
  install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iptables)
  if ! "${install[@]}" >/dev/null 2>&1; then
    # Most often a fresh machine whose package lists are missing or stale.
    "${sudo[@]}" apt-get update -qq
    "${install[@]}" >/dev/null
  fi
fi
if ! command -v nsenter >/dev/null; then
  echo "nsenter (util-linux) is missing: apt-get install util-linux" >&2
  exit 1
fi
iptables-restore --version
