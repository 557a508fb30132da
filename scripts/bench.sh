#!/usr/bin/env bash
# The benchmark suite in one command: builds the local image, prints the machine, then runs
# the peer benchmarks (ecsctl against docker-compose and the Docker API, one table) and the
# load test (50 clients for 30 s against a server running 50 tasks; fails on any error).
#
#   scripts/bench.sh          peers, then load
#   scripts/bench.sh peers    only the peer table
#   scripts/bench.sh load     only the load test
#
# Tuning: PEERS_REPEAT (3 runs per figure), PEERS_IDLE_SECS (20), LOAD_SECS (30),
# LOAD_CLIENTS (50), LOAD_TASKS (50). Needs Docker and Debian's docker-compose (and etcd, from
# Debian's etcd-server, which scripts/install-etcd.sh installs when missing); results are
# in bench/RESULTS.md. Measure on a quiet machine: the figures are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case $what in
  all | peers | load) ;;
  *)
    echo "usage: scripts/bench.sh [all|peers|load]" >&2
    exit 2
    ;;
esac
if [ "$what" != load ] && ! command -v docker-compose >/dev/null; then
  echo "docker-compose not found (apt-get install docker-compose)" >&2
  exit 2
fi

scripts/build-images.sh
etcd_version=$(scripts/install-etcd.sh | tail -n 1)

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MiB memory, kernel $(uname -r)"
echo "docker:  engine $(docker version --format '{{.Server.Version}}'), docker-compose $(docker-compose version --short 2>/dev/null || echo none)"
echo "etcd:    ${etcd_version#etcd Version: }"
echo "load:    $(uptime | sed 's/.*load average/load average/')"

# Build both first, so that compiling does not overlap the measurements.
cargo bench -p ecsctl --bench peers --bench load --no-run
if [ "$what" != load ]; then
  cargo bench -p ecsctl --bench peers
fi
if [ "$what" != peers ]; then
  cargo bench -p ecsctl --bench load
fi
