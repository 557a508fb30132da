#!/usr/bin/env bash
# Coverage-guided fuzzing of the manifest parser and the API request decoder (fuzz/, with
# cargo-fuzz and libFuzzer), each target for a bounded time, then a summary.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]     # default 60
#   FUZZ_TARGETS="parse_manifest" scripts/fuzz.sh 300
#   FUZZ_SANITIZER=address scripts/fuzz.sh   # default none: the library crates forbid unsafe
#                                            # code; panics, hangs and OOMs are caught anyway
#
# cargo-fuzz wants a nightly compiler; RUSTC_BOOTSTRAP=1 lets the stable one accept the
# flags it passes. Corpora are rebuilt in fuzz/corpus/TARGET (not committed) from the seeds
# below and whatever earlier runs found; crashes land in fuzz/artifacts/TARGET/. Keep each
# crasher as a regression test: crates/api/tests/fuzz_regressions/ (replayed by
# crates/api/tests/fuzz.rs) or crates/server/tests/fuzz_regressions/ (fuzz_decode.rs).
# Exits 1 if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"

secs="${1:-60}"
targets="${FUZZ_TARGETS:-parse_manifest api_request}"
sanitizer="${FUZZ_SANITIZER:-none}"
export RUSTC_BOOTSTRAP=1
# A sanitizer build goes in its own directory, so switching does not rebuild the other.
build=(--sanitizer "$sanitizer" --debug-assertions)
[ "$sanitizer" = none ] || build+=(--target-dir "$root/fuzz/target/$sanitizer")

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
# Same dependency versions as the workspace.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock

seed() { # seed TARGET FILE...: copy seeds into the target's corpus (by content hash)
  local dir="fuzz/corpus/$1" f
  shift
  mkdir -p "$dir"
  for f in "$@"; do
    [ -f "$f" ] && cp "$f" "$dir/seed-$(sha1sum "$f" | cut -c1-16)"
  done
  return 0
}
shopt -s nullglob globstar
seed parse_manifest manifests/**/*.yaml tests/corpus/ecs/**/*.json tests/schema/invalid/* \
  fuzz/seeds/parse_manifest/* crates/api/tests/fuzz_regressions/*
seed api_request fuzz/seeds/api_request/* crates/server/tests/fuzz_regressions/*

echo "==> building fuzz targets (sanitizer: $sanitizer)"
for t in $targets; do
  cargo fuzz build "${build[@]}" "$t"
done

summary=()
failed=0
for t in $targets; do
  mkdir -p "fuzz/artifacts/$t" fuzz/logs
  log="fuzz/logs/$t.log"
  marker="$(mktemp)"
  echo "==> fuzzing $t for ${secs}s (log: $log)"
  start=$(date +%s)
  set +e
  cargo fuzz run "${build[@]}" "$t" "$root/fuzz/corpus/$t" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -dict="$root/fuzz/yaml.dict" -print_final_stats=1 \
    -artifact_prefix="$root/fuzz/artifacts/$t/" >"$log" 2>&1
  rc=$?
  set -e
  took=$(($(date +%s) - start))
  # libFuzzer's own count of the time spent fuzzing (the rest is building, loading).
  fuzzed=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  took="${fuzzed:-$took}"
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  corpus=$(find "fuzz/corpus/$t" -type f | wc -l)
  artifacts=$(find "fuzz/artifacts/$t" -type f -newer "$marker")
  rm -f "$marker"
  found=$(printf '%s' "$artifacts" | grep -c . || true)
  if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
    failed=1
    grep -m1 -E "panicked at|ERROR: libFuzzer" "$log" || tail -5 "$log"
    printf '%s\n' "$artifacts" | sed '/^$/d; s/^/    artifact: /'
  fi
  summary+=("$(printf '%-16s %6ss  %10s execs  %7s exec/s  corpus %5s  crashes %s  (exit %s)' \
    "$t" "$took" "${runs:-?}" "${speed:-?}" "$corpus" "$found" "$rc")")
done

echo
echo "==> summary"
printf '%s\n' "${summary[@]}"
exit "$failed"
