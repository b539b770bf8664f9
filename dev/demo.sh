#!/usr/bin/env bash
# The story `make demo` tells, on the local stack (`make up` has run).
# Every command here is one an operator would type; nothing is faked.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYTURN=${KEYTURN:-target/debug/keyturn}
NOW=${DEMO_NOW:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ keyturn %s\n' "$*"; "$KEYTURN" "$@"; }

step "1. A broken inventory is refused as a whole: every problem named, nothing written"
run inventory validate dev/demo/inventory-with-errors.csv || echo "(exit code $?: as expected)"

step "2. The real inventory: validate, then import"
run inventory validate dev/demo/inventory.csv
run inventory import dev/demo/inventory.csv

step "3. What is due within 45 days of $NOW (expired keys first)"
run inventory list --due-within 45 --now "$NOW"

step "4. Dry run: what the scanner would start (reads only due items, writes nothing)"
run scan --dry-run --now "$NOW"

step "5. The scheduled scan: one approval workflow per change"
run scan --now "$NOW"

step "6. Scanning again starts no duplicate workflow"
run scan --now "$NOW"
