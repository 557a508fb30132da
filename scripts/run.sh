#!/usr/bin/env bash
# The main job: build ecsctl, start `ecsctl server`, apply the example manifests and show what
# the server holds. The server keeps running in the foreground until Ctrl-C.
#   ECSCTL_HOME   data directory (default: ./.data)
#   RUN_ONCE=1    stop the server after showing the objects (for scripted runs)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-images.sh
cargo build --quiet --locked -p ecsctl
bin=$PWD/target/debug/ecsctl
export ECSCTL_HOME=${ECSCTL_HOME:-$PWD/.data}
mkdir -p "$ECSCTL_HOME"

"$bin" server --data-dir "$ECSCTL_HOME" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 100); do
  [ -S "$ECSCTL_HOME/ecsctl.sock" ] && "$bin" get clusters >/dev/null 2>&1 && break
  sleep 0.1
done

echo "+ ecsctl apply -f manifests/"
"$bin" apply -f manifests/

echo "waiting for service web to reach a steady state (real containers)..."
for _ in $(seq 1 120); do
  if "$bin" get svc web -o json | python3 -c 'import json,sys; s=json.load(sys.stdin)["status"]; sys.exit(0 if any(c["type"]=="SteadyState" and c["status"]=="True" for c in s.get("conditions",[])) else 1)' 2>/dev/null; then
    break
  fi
  sleep 0.5
done
for kind in clusters taskdefinitions services tasks loadbalancers; do
  echo "+ ecsctl get $kind"
  "$bin" get "$kind"
done
echo "+ ecsctl describe service web"
"$bin" describe service web
echo "+ docker ps --filter label=ecsctl.service=web"
docker ps --filter label=ecsctl.service=web --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
echo "+ ecsctl describe lb web"
"$bin" describe lb web | sed -n '/^Listeners:/,$p'
for _ in 1 2 3 4; do
  echo "+ curl http://127.0.0.1:8080/   (the built-in load balancer, round robin over the tasks)"
  curl -fsS "http://127.0.0.1:8080/" || true
done

if [ "${RUN_ONCE:-0}" = 1 ]; then
  # Scripted runs leave nothing behind: stop the server first (or it would replace what is
  # removed), then remove this server's containers, networks and volumes (by its instance
  # label).
  kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true
  trap - EXIT INT TERM
  instance=$(cat "$ECSCTL_HOME/instance-id")
  ids=$(docker ps -aq --filter "label=ecsctl.instance=$instance")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  nets=$(docker network ls -q --filter "label=ecsctl.instance=$instance")
  [ -z "$nets" ] || docker network rm $nets >/dev/null
  vols=$(docker volume ls -q --filter "label=ecsctl.instance=$instance")
  [ -z "$vols" ] || docker volume rm $vols >/dev/null
  exit 0
fi
echo "ecsctl server is running (data in $ECSCTL_HOME); try: $bin get svc -o yaml. Ctrl-C stops it;"
echo "its containers keep running and are adopted when it starts again ($bin delete -f manifests/web/service.yaml stops them)."
wait $server
