#!/usr/bin/env bash
# The project's test command (README.md, and .ci/run runs exactly this).
# Formatting, lints, every Rust test (unit tests on fakes, end-to-end tests that drive the
# real binary against the real Docker engine), and the JSON Schemas checked by a validator
# nobody here wrote. Set-up that tests need (local images) is done here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "local images (no registry on this machine)"
scripts/build-images.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi

step "JSON Schemas: schemas/ is current and python-jsonschema agrees with ecsctl"
cargo run --quiet --locked -p ecsctl -- schema --check schemas
python3 tests/schema/check_schemas.py

step "all checks passed"
