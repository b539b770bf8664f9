"""Reads criterion's estimates (target/criterion) into bench/results.json
and prints throughput per benchmark; run by bench/run.sh after `cargo bench`."""

import json
import os

ROOT = "target/criterion"
# (group/bench, label, unit, target, cmp)
BENCHES = [
    ("policy/evaluate", "policy evaluation (classify + group)", "connectors/s", 1_000_000, ">="),
    ("policy/validate_and_evaluate", "scan planning (validate + classify + group)", "connectors/s", None, ">="),
    ("links/verify", "signed-link verify", "ops/s", None, ">="),
    ("audit/hash_chain", "audit hash chain (seal)", "items/s", None, ">="),
]


def main(out="bench/results.json"):
    rows, targets = {}, []
    for bench, label, unit, target, cmp in BENCHES:
        base = os.path.join(ROOT, *bench.split("/"), "new")
        try:
            estimates = json.load(open(os.path.join(base, "estimates.json")))
            meta = json.load(open(os.path.join(base, "benchmark.json")))
        except FileNotFoundError:
            raise SystemExit(f"no criterion estimates for {bench} under {base}: did `cargo bench` run?")
        ns = estimates["mean"]["point_estimate"]
        elements = (meta.get("throughput") or {}).get("Elements", 1)
        per_second = round(elements / (ns * 1e-9))
        rows[bench] = {"per_second": per_second, "unit": unit, "ns_per_iteration": round(ns, 1), "elements": elements}
        met = "-" if target is None else ("yes" if per_second >= target else "NO")
        print(f"  {label:48} {per_second:>14,} {unit:<13} {'' if target is None else f'{cmp} {target:,}':>14} {met}")
        if target is not None:
            targets.append({"name": label, "target": target, "measured": per_second, "unit": unit, "cmp": cmp})
    doc = json.load(open(out)) if os.path.exists(out) else {}
    names = {t["name"] for t in targets}
    doc["targets"] = [t for t in doc.get("targets", []) if t["name"] not in names] + targets
    doc.setdefault("measurements", {})["criterion"] = rows
    with open(out, "w") as f:
        json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
