#!/usr/bin/env bash
# The project's test command (README.md, and .ci/run runs exactly this).
# Formatting, lints, every Rust test (unit tests on fakes, end-to-end tests that drive the
# real binary against the real Docker engine, and against real etcd clusters), and the JSON
# Schemas checked by a validator nobody here wrote. Set-up that tests need (local images, the
# etcd binary) is done here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "local images (no registry on this machine)"
scripts/build-images.sh

step "etcd (Debian's etcd-server)"
scripts/install-etcd.sh

step "iptables (security groups are loaded into task namespaces with iptables-restore)"
scripts/install-iptables.sh

step "chromium, chromium-driver and selenium (the web console's browser test)"
scripts/install-browser.sh

step "cargo fmt --check"
cargo fmt --all -- --check

# The Docker tier (end-to-end tests through the real binary and the Docker contract suite)
# is behind a feature, so that a plain `cargo test` of the logic passes without Docker.
DOCKER_TIER=(--features ecsctl/docker-tests,ecsctl-runtime/docker-tests)
# The etcd tier (real etcd clusters on loopback ports, from scripts/install-etcd.sh) likewise.
ETCD_TIER=(--features ecsctl-etcd-harness/etcd-tests,ecsctl-store/etcd-tests,ecsctl/etcd-tests)

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked "${DOCKER_TIER[@]}" "${ETCD_TIER[@]}" -- -D warnings

step "cargo test (logic on fakes, the Docker tier and the etcd tier)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast "${DOCKER_TIER[@]}" "${ETCD_TIER[@]}"
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast "${DOCKER_TIER[@]}" "${ETCD_TIER[@]}"
fi

step "JSON Schemas: schemas/ is current and python-jsonschema agrees with ecsctl"
cargo run --quiet --locked -p ecsctl -- schema --check schemas
python3 tests/schema/check_schemas.py

step "all checks passed"
