#!/usr/bin/env python3
"""Generates a large inventory file for bench/inventory-validate.sh (never committed).

  inventory-gen.py ROWS {csv,json,yaml} {valid,invalid} OUT

valid:   every record validates (about 110 bytes a CSV row, so about 580,000
         rows fit under the 64 MiB limit).
invalid: short records with seven problems each (bad owner, bad date, five
         required fields missing): the diagnostics-heavy case; 1,000,000 CSV
         rows are about 40 MB.
"""
import json
import sys


def valid(i):
    return {
        "id": f"c{i:07d}",
        "kind": "atlassian-api-key",
        "org": "acme",
        "idp": "none",
        "owner": "o@acme.example",
        "approver_group": "it",
        "secret_arn": f"arn:aws:secretsmanager:us-east-1:123456789012:secret:k{i}",
        "expires_at": "2026-12-24",
    }


def invalid(i):
    return {"id": f"c{i:07d}", "kind": "atlassian-scim", "owner": "nobody", "expires_at": "2026-13-01"}


def main():
    rows, fmt, kind, out = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    make = valid if kind == "valid" else invalid
    cols = list(make(0))
    with open(out, "w", buffering=1 << 20) as f:
        if fmt == "csv":
            f.write(",".join(cols) + "\n")
            for i in range(rows):
                f.write(",".join(make(i).values()) + "\n")
        elif fmt == "json":
            f.write("[\n")
            for i in range(rows):
                f.write(("," if i else "") + json.dumps(make(i), separators=(",", ":")) + "\n")
            f.write("]\n")
        elif fmt == "yaml":
            for i in range(rows):
                r = make(i)
                f.write(f"- id: {r['id']}\n")
                for k in cols[1:]:
                    f.write(f"  {k}: {r[k]}\n")
        else:
            sys.exit(f"unknown format {fmt}")


if __name__ == "__main__":
    main()
