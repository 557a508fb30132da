#!/usr/bin/env bash
# Set-up for benches/proxy.rs: nginx from Debian's packages as the peer proxy (optional; the
# benchmark skips the nginx rows without it). Tests never need this.
set -euo pipefail
if ! command -v nginx >/dev/null 2>&1 && ! [ -x /usr/sbin/nginx ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
    # The package starts a system nginx on port 80; the benchmark runs its own.
    (systemctl stop nginx || service nginx stop || true) >/dev/null 2>&1
fi
nginx -v
