#!/usr/bin/env bash
# The story `make demo` tells, on the local stack (`make up` has run): a broken
# inventory refused, the real one imported, the scheduled scan starting one
# approval workflow per change, approvers getting signed links by email and
# Slack, a real browser approving one, and the audit trail it left.
# Every command is one an operator would type; nothing is faked.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYTURN=${KEYTURN:-target/debug/keyturn}
OUT=.local/demo
mkdir -p "$OUT"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$ keyturn %s\n' "$*"; "$KEYTURN" "$@"; }

# The demo inventory's expiry dates are relative to today, so the story is the
# same whenever it runs: {{+25d}} becomes the date 25 days from now.
render() {
  python3 - "$1" <<'PY'
import datetime, re, sys
today = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
text = open(sys.argv[1]).read()
print(re.sub(r"\{\{([+-]\d+)d\}\}", lambda m: (today + datetime.timedelta(days=int(m.group(1)))).strftime("%Y-%m-%dT%H:%M:%SZ"), text), end="")
PY
}
render dev/demo/inventory.csv.tmpl > "$OUT/inventory.csv"

step "1. A broken inventory is refused as a whole: every problem named, nothing written"
run inventory validate dev/demo/inventory-with-errors.csv || echo "(exit code $?: as expected)"

step "2. The real inventory: validate, then import"
run inventory validate "$OUT/inventory.csv"
run inventory import "$OUT/inventory.csv"

step "3. What is due within 45 days (expired keys first)"
run inventory list --due-within 45

step "4. Who approves: approver routing (stored as a secret: Slack webhooks are credentials)"
run approvers set dev/demo/approvers.yaml
run approvers show

step "5. Dry run: what the scanner would start (reads only due items, writes nothing)"
run scan --dry-run

step "6. The scheduled scan: one approval workflow per change"
echo "$ keyturn scan --format json"; "$KEYTURN" scan --format json > "$OUT/scan.json"
python3 - <<'PY'
import json
for c in json.load(open(".local/demo/scan.json"))["changes"]:
    flag = "URGENT" if c["urgent"] else ""
    print("%s  %-6s  %-8s  %s" % (c["change_id"], flag, c["outcome"], ", ".join(c["connector_ids"])))
PY
urgent=$(python3 -c 'import json; print(next(c["change_id"] for c in json.load(open(".local/demo/scan.json"))["changes"] if c["urgent"]))')
planned=$(python3 -c 'import json; print(next(c["change_id"] for c in json.load(open(".local/demo/scan.json"))["changes"] if not c["urgent"]))')

step "7. Approvers got email (captured locally by SES) and a Slack message, each with their own signed links"
for _ in $(seq 120); do
  [ -n "$("$KEYTURN" dev outbox --subject "$urgent" --links)" ] && break; sleep 0.5
done
run dev outbox --subject "$urgent"
echo "Slack: $(curl -s "${KEYTURN_SIM_URL:-http://127.0.0.1:4567}/_sim/slack" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m), "message(s); the latest:", m[-1]["body"]["text"])')"

step "8. Bo opens his link in a real (headless) browser: a confirmation page, then Approve"
link=$("$KEYTURN" dev outbox --subject "$urgent" --to bo@acme.example --links | awk '$1=="approve"{print $3}')
node tests/browser/approve.mjs --url "$link" --click approve --screenshot "$OUT/approved.png" | python3 -c '
import json,sys; r = json.load(sys.stdin)
print("page:  ", r["before"]["status"], r["before"]["heading"], "| buttons:", r["before"]["buttons"])
print("after: ", r["after"]["status"], r["after"]["heading"])
print("       ", r["after"]["text"].splitlines()[-1] if r["after"]["text"] else "")'
echo "(screenshot: $OUT/approved.png)"

step "9. The workflow moved on; the audit trail of atlassian/globex/entra (hash-chained)"
for _ in $(seq 240); do
  "$KEYTURN" audit show atlassian/globex/entra --format json | grep -q '"event": "notified"' && break; sleep 0.5
done
run audit show atlassian/globex/entra
echo "Jira (urgent ticket): $(curl -s "${KEYTURN_SIM_URL:-http://127.0.0.1:4567}/_sim/jira" | python3 -c 'import json,sys; [print(i["key"], i["fields"]["summary"], "| comments:", len(i["comments"])) for i in json.load(sys.stdin)]')"

step "10. Scanning again starts no duplicate workflow"
run scan

step "Your turn: change $planned waits for an approver. Open this link in a browser on this machine:"
"$KEYTURN" dev outbox --subject "$planned" --to ana@acme.example --links | awk '$1=="approve"{print "  " $3}'
echo "(the stack keeps running; \`make down\` stops it)"
