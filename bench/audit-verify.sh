#!/usr/bin/env bash
# Benchmark (make bench, not make test): `keyturn audit verify` on a generated
# export of AUDIT_EVENTS events (default 1,000,000) in 10,000 chains.
# Targets from the audit issue: under 10 s and under 64 MB peak RSS on this
# machine. The baseline, measured in the same run, is the floor any verifier
# pays: decompressing the same data files (zcat | wc -l).
#
# --prepare: only generate the export (if not there yet) and stop; bench/run.sh
# does this in the background while the arm64 bootstrap builds.
# KEYTURN_BENCH_CLI: a keyturn binary already built (bench/run.sh sets it);
# unset, the script builds the release CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${AUDIT_EVENTS:-1000000}
out=.local/bench
dir=$out/audit-$events
mkdir -p "$out"

k=${KEYTURN_BENCH_CLI:-}
if [ -z "$k" ]; then
  echo "==> bench: building keyturn (release)"
  cargo build --release --quiet -p keyturn-cli --bin keyturn
  k=target/release/keyturn
fi

if [ ! -f "$dir/.key" ]; then
  echo "==> bench: generating an export of $events events"
  rm -rf "$dir"
  "$k" dev sample-audit-export --events "$events" --connectors 10000 --out "$dir" > "$dir.key.tmp"
  mv "$dir.key.tmp" "$dir/.key"
fi
key=$(cat "$dir/.key")
[ "${1:-}" = --prepare ] && exit 0

command -v /usr/bin/time >/dev/null || { echo "bench needs GNU time: apt-get install time"; exit 1; }
echo "==> bench: baseline (decompress only)"
/usr/bin/time -f '%e' -o "$out/base.time" sh -c "zcat $dir/AWSDynamoDB/*/data/*.json.gz | wc -l > /dev/null"
base=$(cat "$out/base.time")

echo "==> bench: keyturn audit verify"
/usr/bin/time -f '%e %M' -o "$out/verify.time" "$k" audit verify "$dir" --public-key "$key" > "$out/verify.out"
read -r secs kb < "$out/verify.time"
grep -q INTACT "$out/verify.out" || { echo "the generated export did not verify:"; cat "$out/verify.out"; exit 1; }

python3 - "$events" "$secs" "$kb" "$base" <<'PY'
import json, os, sys
events, secs, kb, base = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
mb = kb / 1024
rows = [
    {"name": f"audit verify {events:,} events: wall time", "target": 10, "measured": round(secs, 2), "unit": "s", "cmp": "<="},
    {"name": f"audit verify {events:,} events: peak RSS", "target": 64, "measured": round(mb, 1), "unit": "MB", "cmp": "<="},
    {"name": "audit verify throughput", "target": None, "measured": round(events / secs), "unit": "items/s", "cmp": ">="},
]
print(f"\n{'benchmark':48} {'measured':>12} {'target':>10}  met")
for r in rows:
    t = "-" if r["target"] is None else f"{r['cmp']} {r['target']}"
    met = "-" if r["target"] is None else ("yes" if (r["measured"] <= r["target"] if r["cmp"] == "<=" else r["measured"] >= r["target"]) else "NO")
    print(f"{r['name']:48} {r['measured']:>9} {r['unit']:<3} {t:>9}  {met}")
print(f"{'ratio to decompressing the same files':48} {secs / base:>9.2f} x   (baseline {base:.2f} s, same run)")
path = "bench/results.json"
doc = json.load(open(path)) if os.path.exists(path) else {"targets": []}
doc["targets"] = [t for t in doc.get("targets", []) if not t["name"].startswith("audit verify")] + [r for r in rows if r["target"] is not None]
doc.setdefault("measurements", {})["audit_verify"] = {"events": events, "seconds": secs, "peak_rss_mb": round(mb, 1), "items_per_second": round(events / secs), "baseline_decompress_seconds": round(base, 2)}
json.dump(doc, open(path, "w"), indent=2)
print(f"written to {path}")
PY
