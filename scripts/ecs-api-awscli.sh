#!/usr/bin/env bash
# Drives ecsctl's ECS API with the real AWS CLI and boto3: a server on a port
# the OS picks, in a temp data dir, the key `ecsctl aws-env` prints, then the cluster operations, pagination, and a
# wrong key refused; `ecsctl get clusters` must show what the AWS CLI made.
# Usage: scripts/ecs-api-awscli.sh PATH/TO/ecsctl   (exit 0 pass, 1 fail)
set -euo pipefail
ECSCTL=${1:?usage: $0 PATH/TO/ecsctl}

# The real AWS CLI and boto3: the machine's, else a venv this script makes from PyPI once
# (under ~/.cache, reused by later runs), so the test never depends on what was installed by
# hand.
PY=python3
if ! command -v aws >/dev/null 2>&1 || ! python3 -c 'import boto3' 2>/dev/null; then
  venv=${ECSCTL_AWSCLI_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ecsctl/awscli-venv}
  if [ ! -x "$venv/bin/aws" ] || ! "$venv/bin/python" -c 'import boto3' 2>/dev/null; then
    echo "installing the AWS CLI and boto3 into $venv (PyPI)" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awscli boto3
  fi
  PATH="$venv/bin:$PATH"
  PY="$venv/bin/python"
fi

dir=$(mktemp -d)
server_pid=
tls_pid=
cleanup() {
  for pid in $server_pid $tls_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ECSCTL" server --data-dir "$dir/data" --aws-api "tcp://127.0.0.1:$port" >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do
  [ -S "$dir/data/ecsctl.sock" ] && break
  sleep 0.05
done
[ -S "$dir/data/ecsctl.sock" ] || { echo "server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }

# Only what aws-env prints: no profile or config file of the user's is read.
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
eval "$("$ECSCTL" aws-env --data-dir "$dir/data" --region eu-west-1)"

fail() { echo "FAIL: $*" >&2; cat "$dir/server.log" >&2; exit 1; }

arn=$(aws ecs create-cluster --cluster-name shop --query cluster.clusterArn --output text)
[ "$arn" = "arn:aws:ecs:eu-west-1:000000000000:cluster/shop" ] || fail "create-cluster gave $arn"
for c in a1 b2 c3; do aws ecs create-cluster --cluster-name "$c" >/dev/null; done

missing=$(aws ecs describe-clusters --clusters shop nope --query 'failures[0].reason' --output text)
[ "$missing" = "MISSING" ] || fail "describe-clusters failures: $missing"
name=$(aws ecs describe-clusters --clusters "$arn" --query 'clusters[0].clusterName' --output text)
[ "$name" = "shop" ] || fail "describe-clusters by ARN: $name"

# The CLI's paginator follows nextToken through pages of 2.
count=$(aws ecs list-clusters --page-size 2 --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["clusterArns"]))')
[ "$count" = "5" ] || fail "list-clusters through pages: $count"
page=$(aws ecs list-clusters --max-items 2 --output json)
echo "$page" | grep -q NextToken || fail "list-clusters --max-items 2 gave no NextToken: $page"

# One source of truth: ecsctl's own API sees what the AWS CLI made.
"$ECSCTL" --server "$dir/data/ecsctl.sock" get clusters | grep -qw shop || fail "ecsctl get clusters misses shop"

# boto3 reads the same variables; its error classes see ECS's error shapes.
"$PY" - <<'PY' || fail "boto3"
import boto3
ecs = boto3.client("ecs")
pages = ecs.get_paginator("list_clusters").paginate(PaginationConfig={"PageSize": 2})
arns = [a for p in pages for a in p["clusterArns"]]
assert len(arns) == 5, arns
try:
    ecs.delete_cluster(cluster="nope")
    raise SystemExit("deleting a missing cluster succeeded")
except ecs.exceptions.ClusterNotFoundException:
    pass
PY

aws ecs delete-cluster --cluster shop >/dev/null
if aws ecs delete-cluster --cluster shop 2>"$dir/err"; then fail "deleting a deleted cluster succeeded"; fi
grep -q ClusterNotFoundException "$dir/err" || fail "second delete: $(cat "$dir/err")"

# A wrong secret and an unknown key are refused as AWS refuses them.
if AWS_SECRET_ACCESS_KEY=wrong-secret-0000000000 aws ecs list-clusters 2>"$dir/err"; then fail "a wrong secret was accepted"; fi
grep -q InvalidSignatureException "$dir/err" || fail "wrong secret: $(cat "$dir/err")"
if AWS_ACCESS_KEY_ID=AKIANOBODY0000000000 aws ecs list-clusters 2>"$dir/err"; then fail "an unknown key was accepted"; fi
grep -q UnrecognizedClientException "$dir/err" || fail "unknown key: $(cat "$dir/err")"
# Over TLS (https://, as beyond loopback): the CLI trusts the server's own certificate.
if command -v openssl >/dev/null 2>&1; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -addext basicConstraints=critical,CA:FALSE \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" 2>/dev/null
  tls_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$ECSCTL" server --data-dir "$dir/tls" --aws-api "https://127.0.0.1:$tls_port" \
    --tls-cert "$dir/cert.pem" --tls-key "$dir/key.pem" >"$dir/tls.log" 2>&1 &
  tls_pid=$!
  for _ in $(seq 1 200); do [ -S "$dir/tls/ecsctl.sock" ] && break; sleep 0.05; done
  eval "$("$ECSCTL" aws-env --data-dir "$dir/tls" --region eu-west-1)"
  case "$AWS_ENDPOINT_URL_ECS" in https://*) ;; *) fail "aws-env over TLS: $AWS_ENDPOINT_URL_ECS";; esac
  tls_list=$(AWS_CA_BUNDLE="$dir/cert.pem" aws ecs list-clusters --query 'clusterArns[0]' --output text) \
    || { cat "$dir/tls.log" >&2; fail "list-clusters over TLS"; }
  [ "$tls_list" = "arn:aws:ecs:eu-west-1:000000000000:cluster/default" ] || fail "over TLS: $tls_list"
fi

echo "ok: the AWS CLI and boto3 drove create/describe/list/delete-cluster${tls_pid:+ (and list-clusters over TLS)}"
