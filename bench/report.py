"""The last table of `make bench`: every target in bench/results.json, met or not.

--arm64 PATH first records the arm64 bootstrap's size: bench/run.sh builds it
alongside the measurements (stopped while anything is measured), so it is
the last figure to arrive.
"""

import argparse
import json
import os

OUT = "bench/results.json"


def record_arm64(path: str, doc: dict):
    mb = round(os.path.getsize(path) / 2**20, 2)
    name = "bootstrap size (arm64)"
    doc["targets"] = [t for t in doc.get("targets", []) if t["name"] != name] + [
        {"name": name, "target": 8, "measured": mb, "unit": "MB", "cmp": "<="}]
    doc.setdefault("measurements", {})["bootstrap_arm64_mb"] = mb
    print(f"==> bench: {name}: {mb} MB ({path})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arm64", metavar="PATH", help="the arm64 bootstrap, to record its size first")
    args = ap.parse_args()
    doc = json.load(open(OUT))
    if args.arm64:
        record_arm64(args.arm64, doc)
        with open(OUT, "w") as f:
            json.dump(doc, f, indent=2)
    print(f"\n{'target':58} {'measured':>14} {'target':>12}  met")
    for t in doc["targets"]:
        m, goal = t["measured"], t["target"]
        ok = m is not None and (m <= goal if t["cmp"] == "<=" else m >= goal)
        shown = "-" if m is None else (f"{m:,.2f}" if isinstance(m, float) else f"{m:,}")
        print(f"{t['name']:58} {shown:>10} {t['unit']:<4}{t['cmp']:>3} {goal:>8,}  {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    main()
