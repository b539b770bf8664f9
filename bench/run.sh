#!/usr/bin/env bash
# make bench (never part of make test): every benchmark of issue #8 in one
# run, printed as tables and written to bench/results.json (`targets`: one
# object per target with name, target, measured, unit, cmp).
#
#   1. builds: the release bootstrap (keyturn-lambda, all nine functions)
#      with cargo-lambda: x86_64, run here, in one build with the keyturn
#      CLI and the criterion benchmarks; arm64, weighed only, alongside at
#      the lowest priority until the end. Then the 1,000,000-event audit
#      export is generated (it needs the CLI).
#   2. bench/lambda.py: init / first / warm latency / peak RSS of every
#      function and of the Python twins, on a private moto; scan cost at
#      1k, 10k, 100k connectors with the same 50 due
#   3. criterion: policy evaluation, signed-link verify, audit hash chain
#   4. bench/audit-verify.sh: export verify on 1,000,000 events
#   5. the rest of the arm64 build, then the report
# Nothing is measured while anything else of this run is working: the
# arm64 build, the one job that runs on, is stopped while anything is
# measured, every other background job is waited for before.
# Absolute times are noisy (shared 2-core machines); ratios are taken within
# this one run. Each phase prints its wall and CPU seconds (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${BENCH_MOTO_PORT:-4766}
export PATH="$PWD/.venv/bin:$PATH"
started=$(date +%s)
mkdir -p .local

# Background jobs still running when this script ends (an error, Ctrl-C) are
# stopped with everything they started, by process id.
arm64=""; moto=""; venv=""
stop_tree() {
  local child
  for child in $(pgrep -P "$1" || true); do stop_tree "$child"; done
  kill "$1" 2>/dev/null || true
}
cleanup() {
  # The arm64 build may be stopped (see "hold" below): it must go on to die.
  [ -z "$arm64" ] || { kill -- "-$arm64"; kill -CONT -- "-$arm64"; } 2>/dev/null || true
  for pid in $moto $venv; do stop_tree "$pid"; done
  rm -f "${times_file:-}"
}
# The arm64 bootstrap is only weighed, at the end, so its build runs in its
# own process group at the lowest priority through everything: it takes the
# core the x86_64 build or an unmeasured step (the audit export, filling the
# bench moto) leaves idle, and it is stopped (SIGSTOP to the group) for as
# long as anything is measured, so nothing measured ever shares the machine.
hold() { [ -z "$arm64" ] || kill -STOP -- "-$arm64" 2>/dev/null || true; }
release() { [ -z "$arm64" ] || kill -CONT -- "-$arm64" 2>/dev/null || true; }
trap cleanup EXIT

# phase NAME: closes the running phase (prints its wall seconds and the CPU
# seconds of the processes it waited for) and starts the next one; the list
# is repeated at the end (bench/README.md records them).
# `times` must run in this shell, not in a $(...) subshell (which has no
# children of its own): it writes to a file, awk reads the file.
times_file=$(mktemp)
cpu_seconds() {
  awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%d", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$times_file"
}
phases=(); phase_name=""; phase_at=$started; phase_cpu=0
phase() {
  local now cpu
  times > "$times_file"
  now=$(date +%s); cpu=$(cpu_seconds)
  if [ -n "$phase_name" ]; then
    echo "    ($phase_name: $((now - phase_at)) s, CPU $((cpu - phase_cpu)) s)"
    phases+=("$(printf '%6d s %7d s  %s' $((now - phase_at)) $((cpu - phase_cpu)) "$phase_name")")
  fi
  phase_name=$1; phase_at=$now; phase_cpu=$cpu
}

phase "toolchain check (cargo-lambda, zig, aarch64 target)"
test -x .venv/bin/python || python3 -m venv .venv
# The pinned cargo-lambda (it brings zig), so the install below leaves it be.
test -x .venv/bin/cargo-lambda || .venv/bin/pip install --quiet --disable-pip-version-check \
  "$(grep '^cargo-lambda==' tests/localstack/requirements.txt)"
rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
# The local stack's Python packages (moto, boto3) are only needed from
# lambda.py on: they install while the builds run.
make --no-print-directory .venv/.installed > .local/bench-venv.log 2>&1 &
venv=$!

bootstrap=(-p keyturn-functions --bin keyturn-lambda)
# cargo-lambda copies the bootstrap it builds (also when nothing changed):
# no bootstrap of an earlier run can be measured by mistake.
rm -rf target/lambda/x86_64 target/lambda/arm64

# Two builds, each a whole dependency graph, side by side (the arm64 one in
# its own target dir: Cargo locks a target dir's host half for a whole
# build), so the x86_64 build's serial stretches (a long crate, a fat-LTO
# link) leave no core idle:
# - arm64: the bootstrap alone, exactly as `make lambdas` builds what
#   deploys, at the lowest priority (see hold/release above);
# - x86_64: the bootstrap (run here), the keyturn CLI and the criterion
#   benchmarks (keyturn-bench's binary) in ONE cargo-lambda call, so one
#   dependency graph in one profile serves all three. (As a `[[bench]]`
#   target the benchmarks were built in test mode, which forces unwinding
#   onto every dependency: a second copy of the graph, bench/README.md.)
#   Their features unify, which the bootstrap's link-time optimisation
#   strips again as unused: bench/README.md has the size of both x86_64
#   builds.
phase "build: x86_64 bootstrap + CLI + criterion bench (arm64 bootstrap building alongside)"
echo "==> bench: release bootstrap with cargo-lambda (arm64, alongside at the lowest priority until the end)"
# (CARGO_TARGET_DIR, not --target-dir: cargo-lambda looks for the binaries
# where `cargo metadata` says the target dir is.) setsid: a process group of
# its own (its id is $arm64) for hold/release.
CARGO_TARGET_DIR=target/bench-arm64 setsid nice -n 19 cargo lambda build --release --quiet --arm64 \
  --lambda-dir target/lambda/arm64 "${bootstrap[@]}" > .local/bench-arm64-build.log 2>&1 &
arm64=$!

echo "==> bench: release bootstrap, keyturn CLI and criterion bench with cargo-lambda (x86_64, one dependency build)"
# --no-default-features: the CLI without its `s3` feature (reading exports
# from s3://, which nothing here does): aws-sdk-s3 is one of the largest
# crates of the graph. (keyturn-functions and keyturn-bench have no features.)
cargo lambda build --release --quiet --lambda-dir target/lambda/x86_64 "${bootstrap[@]}" \
  -p keyturn-cli --bin keyturn -p keyturn-bench --bin keyturn-criterion --no-default-features \
  > .local/bench-x86-build.log 2>&1 \
  || { echo "the x86_64 build failed:"; cat .local/bench-x86-build.log; exit 1; }
# cargo-lambda moves every binary it built into the lambda dir as "bootstrap".
cli=target/lambda/x86_64/keyturn/bootstrap
criterion_bin=target/lambda/x86_64/keyturn-criterion/bootstrap
for bin in target/lambda/x86_64/keyturn-lambda/bootstrap "$cli" "$criterion_bin"; do
  test -x "$bin" || { echo "no $bin after the x86_64 build"; exit 1; }
done
export KEYTURN_BENCH_CLI=$cli   # bench/audit-verify.sh: built, do not rebuild

phase "the audit export (the arm64 build alongside)"
# Not measured: generating the export only needs the CLI.
bench/audit-verify.sh --prepare > .local/bench-audit-prepare.log 2>&1 \
  || { echo "generating the audit export failed:"; cat .local/bench-audit-prepare.log; exit 1; }

phase "lambda.py: moto, functions vs Python twins, scan at 1k/10k/100k"
wait $venv || { echo "installing the local stack's Python packages failed:"; cat .local/bench-venv.log; exit 1; }
venv=""
echo "==> bench: a private moto on 127.0.0.1:$port"
.venv/bin/python tests/localstack/launcher.py --port "$port" --sim-port $((port + 1)) \
  --lambda-endpoint http://127.0.0.1:9 > .local/bench-moto.log 2>&1 &
moto=$!
.venv/bin/python tests/localstack/launcher.py --port "$port" --wait-ready 30 \
  || { echo "moto did not start; see .local/bench-moto.log"; exit 1; }

KEYTURN_STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation \
  .venv/bin/python bench/lambda.py --moto-port "$port" --x86 target/lambda/x86_64/keyturn-lambda/bootstrap \
  --keyturn "$cli" ${arm64:+--hold "$arm64"}
kill $moto 2>/dev/null || true
wait $moto 2>/dev/null || true
moto=""

hold
phase "criterion: run"
echo "==> bench: criterion (policy evaluation, signed-link verify, audit hash chain)"
# What `cargo bench -p keyturn-bench -- --noplot` runs, without a second
# build: criterion's main with the --bench argument.
CRITERION_HOME="$PWD/target/criterion" "$criterion_bin" --bench --noplot 2>&1 \
  | grep -E "^(policy|links|audit)/|thrpt:" || true
.venv/bin/python bench/criterion.py

phase "audit verify, 1,000,000 events"
bench/audit-verify.sh
phase "build: arm64 bootstrap (what is left of it)"
release
wait "$arm64" || { echo "the arm64 build failed:"; cat .local/bench-arm64-build.log; exit 1; }
arm64=""
test -x target/lambda/arm64/keyturn-lambda/bootstrap || { echo "no arm64 bootstrap"; exit 1; }
phase "report"
.venv/bin/python bench/report.py --arm64 target/lambda/arm64/keyturn-lambda/bootstrap
phase ""
echo
echo "==> bench: phases (wall, CPU of the processes waited for)"
printf '%s\n' "${phases[@]}"
echo "==> bench: done in $(( $(date +%s) - started )) s"
