"""The last table of `make bench`: every target in bench/results.json, met or not."""

import json

doc = json.load(open("bench/results.json"))
print(f"\n{'target':58} {'measured':>14} {'target':>12}  met")
for t in doc["targets"]:
    m, goal = t["measured"], t["target"]
    ok = m is not None and (m <= goal if t["cmp"] == "<=" else m >= goal)
    shown = "-" if m is None else (f"{m:,.2f}" if isinstance(m, float) else f"{m:,}")
    print(f"{t['name']:58} {shown:>10} {t['unit']:<4}{t['cmp']:>3} {goal:>8,}  {'yes' if ok else 'NO'}")
