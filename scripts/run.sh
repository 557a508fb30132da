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
for kind in clusters taskdefinitions services loadbalancers; do
  echo "+ ecsctl get $kind"
  "$bin" get "$kind"
done

if [ "${RUN_ONCE:-0}" = 1 ]; then
  exit 0
fi
echo "ecsctl server is running (data in $ECSCTL_HOME); try: $bin get svc -o yaml. Ctrl-C stops it."
wait $server
