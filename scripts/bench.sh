#!/usr/bin/env bash
# The benchmark suite in one command: builds the local image, prints the machine, then runs
# the peer benchmarks (ecsctl against docker-compose and the Docker API, one table), the
# load test (50 clients for 30 s against a server running 50 tasks; fails on any error),
# the etcd-backed control plane beside sled (apply latency, watch delay, failover time on a
# 3-member etcd cluster of its own; about a minute and a half), the load balancer's proxy
# beside nginx (HTTP and HTTPS, one core each; Debian's nginx-light, installed when missing)
# and the web console's pages with 1,000 tasks (a server whose agent is the bench itself).
#
#   scripts/bench.sh          peers, then load, then ha, then proxy, then console
#   scripts/bench.sh peers    only the peer table
#   scripts/bench.sh load     only the load test
#   scripts/bench.sh ha       only the etcd / sled table (needs no Docker)
#   scripts/bench.sh proxy    only the proxy against nginx (needs no Docker)
#   scripts/bench.sh console  only the console's pages (needs no Docker)
#
# Tuning: PEERS_REPEAT (3 runs per figure), PEERS_IDLE_SECS (20), LOAD_SECS (30),
# LOAD_CLIENTS (50), LOAD_TASKS (50), HA_ROUNDS (3 failovers per lease), HA_LEASES (3,10
# seconds). Needs Docker and Debian's docker-compose (not for ha), and etcd (Debian's
# etcd-server, which scripts/install-etcd.sh installs when missing); results are in
# bench/RESULTS.md. Measure on a quiet machine: the figures are wall times.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
case $what in
  all | peers | load | ha | proxy | console) ;;
  *)
    echo "usage: scripts/bench.sh [all|peers|load|ha|proxy|console]" >&2
    exit 2
    ;;
esac
if { [ "$what" = all ] || [ "$what" = peers ]; } && ! command -v docker-compose >/dev/null; then
  echo "docker-compose not found (apt-get install docker-compose)" >&2
  exit 2
fi

docker_needed() { [ "$what" = all ] || [ "$what" = peers ] || [ "$what" = load ]; }
if docker_needed; then
  scripts/build-images.sh
fi
etcd_version=$(scripts/install-etcd.sh | tail -n 1)
if [ "$what" = all ] || [ "$what" = proxy ]; then
  nginx_version=$(crates/lb/benches/setup.sh 2>&1 | tail -n 1)
fi

echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) cores, $(free -m | awk '/^Mem:/ {print $2}') MiB memory, kernel $(uname -r)"
if docker_needed; then
  echo "docker:  engine $(docker version --format '{{.Server.Version}}'), docker-compose $(docker-compose version --short 2>/dev/null || echo none)"
fi
echo "etcd:    ${etcd_version#etcd Version: }"
if [ -n "${nginx_version:-}" ]; then
  echo "nginx:   ${nginx_version#nginx version: }"
fi

# The benches this mode runs: ecsctl's, and the proxy of the ecsctl-lb crate.
case $what in
  all) benches=(peers load ha proxy console) ;;
  *) benches=("$what") ;;
esac
package_of() { if [ "$1" = proxy ]; then echo ecsctl-lb; else echo ecsctl; fi; }
# Build them all first, so that compiling does not overlap the measurements.
for bench in "${benches[@]}"; do
  cargo bench -p "$(package_of "$bench")" --bench "$bench" --no-run
done
echo "load:    $(uptime | sed 's/.*load average/load average/')"
for bench in "${benches[@]}"; do
  cargo bench -p "$(package_of "$bench")" --bench "$bench"
done
