#!/usr/bin/env bash
# Drives ecsctl's ECS API with the real AWS CLI and boto3: a server on a port the OS picks, in
# a temp data dir, on the real Docker engine, with the key `ecsctl aws-env` prints. First the
# cluster operations, pagination and wrong keys refused; then a whole life: a real ECS task
# definition from tests/corpus/ecs, a service through the services-stable waiter, updates to a
# new revision and a new count, run-task/stop-task through the task waiters, tags, paginators,
# delete-service through services-inactive; `ecsctl get` must show what the AWS CLI made.
# Everything the script made (containers, networks, volumes of its server, its image, its
# directory) is removed on exit, pass or fail. Needs ecsctl/busybox:local
# (scripts/build-images.sh).
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
image="ecsctl-awscli-test/web:$$"
cleanup() {
  for pid in $server_pid $tls_pid; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -f "$dir/data/instance-id" ]; then
    instance=$(cat "$dir/data/instance-id")
    ids=$(docker container ls -aq --filter "label=ecsctl.instance=$instance" 2>/dev/null || true)
    # shellcheck disable=SC2086
    [ -z "$ids" ] || docker container rm -f $ids >/dev/null 2>&1 || true
    for what in network volume; do
      ids=$(docker "$what" ls -q --filter "label=ecsctl.instance=$instance" 2>/dev/null || true)
      # shellcheck disable=SC2086
      [ -z "$ids" ] || docker "$what" rm $ids >/dev/null 2>&1 || true
    done
  fi
  docker image rm -f "$image" >/dev/null 2>&1 || true
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
step() { echo "[${SECONDS}s] $*"; }

step "cluster operations"
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

# ---- A whole life -------------------------------------------------------------------------
# The corpus's nginx task definition as it is, its image URI rendered to a local image (as a
# pipeline renders the image it pushed): busybox's httpd on port 80, under a shell that
# exits on SIGTERM (a PID 1 without a handler ignores it, and each stop would last the 30 s
# stopTimeout).
step "a whole life: the test image"
printf '%s\n' 'FROM ecsctl/busybox:local' \
  'CMD ["sh", "-c", "trap \"exit 0\" TERM; httpd -f -p 80 -h /www & wait"]' |
  docker build -q -t "$image" - >/dev/null 2>&1 || fail "docker build of $image"
corpus="$(dirname "$0")/../tests/corpus/ecs/taskdefs/aws-samples__aws-containers-task-definitions__nginx_nginx_ec2.json"
python3 - "$corpus" "$image" >"$dir/nginx.json" <<'PY'
import json, sys
td = json.load(open(sys.argv[1]))
td["containerDefinitions"][0]["image"] = sys.argv[2]
print(json.dumps(td))
PY
step "register-task-definition, create-service, services-stable (AWS CLI)"
aws ecs create-cluster --cluster-name life >/dev/null
td1=$(aws ecs register-task-definition --cli-input-json "file://$dir/nginx.json" \
  --query taskDefinition.taskDefinitionArn --output text) || fail "register-task-definition"
[ "$td1" = "arn:aws:ecs:eu-west-1:000000000000:task-definition/nginx:1" ] || fail "registered $td1"
svc=$(aws ecs create-service --cluster life --service-name web --task-definition nginx \
  --desired-count 2 --query service.serviceArn --output text) || fail "create-service"
[ "$svc" = "arn:aws:ecs:eu-west-1:000000000000:service/life/web" ] || fail "created $svc"
aws ecs wait services-stable --cluster life --services web || fail "services-stable after create"
running=$(aws ecs describe-services --cluster life --services web --query 'services[0].runningCount' --output text)
[ "$running" = "2" ] || fail "runningCount after create: $running"

# One source of truth: ecsctl sees the task definition, the service and its tasks.
"$ECSCTL" --server "$dir/data/ecsctl.sock" get td nginx -o json | grep -q '"nginx"' || fail "ecsctl get td nginx"
"$ECSCTL" --server "$dir/data/ecsctl.sock" get svc web --cluster life -o json |
  python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["spec"]["desiredCount"] == 2 and s["status"]["runningCount"] == 2, s["status"]' ||
  fail "ecsctl get svc web"

step "the rest of the life (boto3)"
# boto3 (its waiters polling every second) takes the rest of the life.
"$PY" - "$dir/nginx.json" <<'PY' || fail "boto3 whole life"
import json, sys, time
import boto3
ecs = boto3.client("ecs")
fast = {"Delay": 1, "MaxAttempts": 120}
t0 = time.monotonic()
def step(what):
    print(f"  [{time.monotonic() - t0:.0f}s] {what}", flush=True)
td = json.load(open(sys.argv[1]))
td["containerDefinitions"][0]["environment"] = [{"name": "REVISION", "value": "2"}]
rev2 = ecs.register_task_definition(**td)["taskDefinition"]
assert rev2["revision"] == 2 and rev2["status"] == "ACTIVE", rev2

step("update-service to nginx:2, services-stable")
# A new revision, then a new count, each through services-stable.
ecs.update_service(cluster="life", service="web", taskDefinition="nginx:2")
ecs.get_waiter("services_stable").wait(cluster="life", services=["web"], WaiterConfig=fast)
svc = ecs.describe_services(cluster="life", services=["web"])["services"][0]
assert svc["taskDefinition"].endswith("task-definition/nginx:2"), svc["taskDefinition"]
assert len(svc["deployments"]) == 1 and svc["runningCount"] == 2, svc["deployments"]
step("update-service to 3 tasks, services-stable")
ecs.update_service(cluster="life", service="web", desiredCount=3)
ecs.get_waiter("services_stable").wait(cluster="life", services=["web"], WaiterConfig=fast)
assert ecs.describe_services(cluster="life", services=["web"])["services"][0]["runningCount"] == 3

step("run-task, tasks-running, stop-task, tasks-stopped")
# Standalone tasks: run two, wait for them, stop them, wait again.
run = ecs.run_task(cluster="life", taskDefinition="nginx:1", count=2, startedBy="awscli-test")
assert not run["failures"], run["failures"]
arns = [t["taskArn"] for t in run["tasks"]]
assert len(arns) == 2 and all(a.startswith("arn:aws:ecs:eu-west-1:000000000000:task/life/") for a in arns), arns
ecs.get_waiter("tasks_running").wait(cluster="life", tasks=arns, WaiterConfig=fast)
mine = ecs.list_tasks(cluster="life", startedBy="awscli-test")["taskArns"]
assert sorted(mine) == sorted(arns), mine
for a in arns:
    ecs.stop_task(cluster="life", task=a, reason="done with it")
ecs.get_waiter("tasks_stopped").wait(cluster="life", tasks=arns, WaiterConfig=fast)
stopped = ecs.describe_tasks(cluster="life", tasks=arns)["tasks"]
assert all(t["stopCode"] == "UserInitiated" and t["stoppedReason"] == "done with it" for t in stopped), stopped

step("tags, paginators")
# Tags on the service and the cluster.
svc_arn = "arn:aws:ecs:eu-west-1:000000000000:service/life/web"
ecs.tag_resource(resourceArn=svc_arn, tags=[{"key": "team", "value": "shop"}, {"key": "tier", "value": "web"}])
ecs.untag_resource(resourceArn=svc_arn, tagKeys=["tier"])
tags = ecs.list_tags_for_resource(resourceArn=svc_arn)["tags"]
assert tags == [{"key": "team", "value": "shop"}], tags

# Paginators follow nextToken.
pages = ecs.get_paginator("list_task_definitions").paginate(familyPrefix="nginx", PaginationConfig={"PageSize": 1})
revisions = [a for p in pages for a in p["taskDefinitionArns"]]
assert [a.rsplit("/", 1)[1] for a in revisions] == ["nginx:1", "nginx:2"], revisions
pages = ecs.get_paginator("list_tasks").paginate(cluster="life", serviceName="web", PaginationConfig={"PageSize": 1})
assert len([a for p in pages for a in p["taskArns"]]) == 3

step("delete-service, services-inactive")
# Deletion: refused while scaled up, forced, then INACTIVE through services-inactive.
try:
    ecs.delete_service(cluster="life", service="web")
    raise SystemExit("deleting a service scaled above 0 succeeded without force")
except ecs.exceptions.InvalidParameterException:
    pass
ecs.delete_service(cluster="life", service="web", force=True)
ecs.get_waiter("services_inactive").wait(cluster="life", services=["web"], WaiterConfig=fast)
assert ecs.list_services(cluster="life")["serviceArns"] == []
PY

step "delete-cluster, wrong keys"
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

echo "ok: the AWS CLI and boto3 drove the cluster operations and a whole life (task definitions, a service through its waiters, tasks, tags, paginators)${tls_pid:+, and list-clusters over TLS}"
