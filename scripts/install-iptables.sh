#!/usr/bin/env bash
# Makes sure the tools that enforce security groups are there: `iptables-restore` (Debian's
# iptables package), which the agent runs inside each awsvpc task's network namespace, and
# `nsenter` (util-linux, always on Debian), which enters it. Installs iptables when missing,
# is quiet when it is there, and prints the version either way. The server and agents need
# them on the host that runs the tasks; without them, tasks in named security groups fail to
# start (they never run unfiltered) and default-group tasks run as before, with a warning.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"

if ! command -v iptables-restore >/dev/null; then
  echo "installing Debian's iptables..." >&2
  apt_install iptables
fi
if ! command -v nsenter >/dev/null; then
  echo "nsenter (util-linux) is missing: apt-get install util-linux" >&2
  exit 1
fi
iptables-restore --version
