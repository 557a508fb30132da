#!/usr/bin/env bash
# Set-up for benches/proxy.rs: nginx from Debian's packages as the peer proxy (optional; the
# benchmark skips the nginx rows without it). Tests never need this. Prints nginx's version.
set -euo pipefail
. "$(dirname "$0")/../../../scripts/lib/apt.sh"
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
    apt_install nginx-light
    # The package starts a system nginx on port 80; the benchmark runs its own.
    (as_root systemctl stop nginx || as_root service nginx stop || true) >/dev/null 2>&1
fi
PATH=$PATH:/usr/sbin nginx -v
