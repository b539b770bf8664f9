#!/usr/bin/env bash
# Benchmark (by hand, not make test): peak RSS and wall time of
# `keyturn inventory validate` on generated inventories (bench/inventory-gen.py),
# the memory target of issue 21: peak RSS <= 4x the file plus a constant.
# Files go to .local/bench/inventory (never committed). Prints one line per
# file: rows, format, kind, size, peak RSS, ratio, wall time, exit code.
#
# KEYTURN_BENCH_CLI: the keyturn binary (default target/release/keyturn,
# built if missing). INVENTORY_ROWS: rows of the big files (default 1,000,000).
# Every run is held to 8 GB of address space (ulimit -v), so a binary that
# does not bound its memory fails instead of taking the machine down.
set -euo pipefail
cd "$(dirname "$0")/.."
k=${KEYTURN_BENCH_CLI:-target/release/keyturn}
[ -x "$k" ] || cargo build --release --quiet -p keyturn-cli --bin keyturn
command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time"; exit 1; }
rows=${INVENTORY_ROWS:-1000000}
dir=.local/bench/inventory
mkdir -p "$dir"

run() { # ROWS FORMAT KIND
  local f="$dir/$1-$3.$2"
  [ -f "$f" ] || python3 bench/inventory-gen.py "$1" "$2" "$3" "$f"
  local size rc
  size=$(stat -c %s "$f")
  rc=0
  ( ulimit -v 8000000; /usr/bin/time -f '%e %M' -o "$dir/time" "$k" inventory validate "$f" > /dev/null 2> "$dir/stderr" ) || rc=$?
  read -r secs kb < <(tail -1 "$dir/time")
  python3 -c "import sys; r,f,kd,s,kb,t,rc=sys.argv[1:]; s=int(s); kb=int(kb); print(f'{int(r):>9,} {f:4} {kd:7} {s/1e6:8.1f} MB  peak {kb/1024:8.1f} MB  {kb*1024/s:6.2f}x  {float(t):7.2f} s  exit {rc}')" \
    "$1" "$2" "$3" "$size" "$kb" "$secs" "$rc"
}

echo "     rows fmt  kind        size         peak RSS      ratio     wall"
run "$rows" csv invalid
run 500000 csv valid
run 700000 json invalid
run 300000 json valid
run 300000 yaml valid
run 600000 yaml invalid
