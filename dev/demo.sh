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
VENDOR=${KEYTURN_DEV_VENDOR_URL:-http://127.0.0.1:4568}

step "1. A broken inventory is refused as a whole: every problem named, nothing written"
run inventory validate dev/demo/inventory-with-errors.csv || echo "(exit code $?: as expected)"

step "2. The real inventory: validate, then import"
run inventory validate "$OUT/inventory.csv"
run inventory import "$OUT/inventory.csv"

step "3. What is due within 45 days (expired keys first)"
run inventory list --due-within 45

step "4. The keys exist: each connector's current key in Secrets Manager and at the (simulated) vendor"
run dev seed-vendors "$OUT/inventory.csv"

step "5. Who approves: approver routing (stored as a secret: Slack webhooks are credentials)"
run approvers set dev/demo/approvers.yaml
run approvers show

step "6. Dry run: what the scanner would start (reads only due items, writes nothing)"
run scan --dry-run

step "7. The scheduled scan: one approval workflow per change"
echo "$ keyturn scan --format json"; "$KEYTURN" scan --format json > "$OUT/scan.json"
python3 - <<'PY'
import json
for c in json.load(open(".local/demo/scan.json"))["changes"]:
    flag = "URGENT" if c["urgent"] else ""
    print("%s  %-6s  %-8s  %s" % (c["change_id"], flag, c["outcome"], ", ".join(c["connector_ids"])))
PY
urgent=$(python3 -c 'import json; print(next(c["change_id"] for c in json.load(open(".local/demo/scan.json"))["changes"] if c["urgent"]))')
planned=$(python3 -c 'import json; print(next(c["change_id"] for c in json.load(open(".local/demo/scan.json"))["changes"] if not c["urgent"]))')

step "8. Approvers got email (captured locally by SES) and a Slack message, each with their own signed links"
for _ in $(seq 120); do
  [ -n "$("$KEYTURN" dev outbox --subject "$urgent" --links)" ] && break; sleep 0.5
done
run dev outbox --subject "$urgent"
echo "Slack: $(curl -s "$VENDOR/_sim/slack" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m), "message(s); the latest:", m[-1]["body"]["text"])')"

step "9. Bo opens his link in a real (headless) browser: a confirmation page, then Approve"
sleep 2  # moto drops an answer that beats the asking Lambda's return; people are never that fast
link=$("$KEYTURN" dev outbox --subject "$urgent" --to bo@acme.example --links | awk '$1=="approve"{print $3}')
node tests/browser/approve.mjs --url "$link" --click approve --screenshot "$OUT/approved.png" | python3 -c '
import json,sys; r = json.load(sys.stdin)
print("page:  ", r["before"]["status"], r["before"]["heading"], "| buttons:", r["before"]["buttons"])
print("after: ", r["after"]["status"], r["after"]["heading"], "-", r["after"]["text"].splitlines()[2] if len(r["after"]["text"].splitlines()) > 2 else "")'

step "10. An Atlassian SCIM key has no API: its owner regenerates it in the admin console and hands it over"
for _ in $(seq 120); do
  [ -n "$("$KEYTURN" dev outbox --subject "Action needed" --to bo@globex.example --links)" ] && break; sleep 0.5
done
run dev outbox --subject "Action needed" --to bo@globex.example
echo "(the owner regenerates the key in the simulated admin.atlassian.com: the old key dies at once)"
export DEMO_NEW_KEY=$(curl -s -XPOST "$VENDOR/_sim/atlassian/directories/d-globex-01/regenerate" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
sleep 2  # moto drops an answer that beats the asking Lambda's return; people are never that fast
intake=$("$KEYTURN" dev outbox --subject "Action needed" --to bo@globex.example --links | awk '{print $3}' | head -1)
node tests/browser/approve.mjs --url "$intake" --fill key=env:DEMO_NEW_KEY --click intake | python3 -c '
import json,sys; r = json.load(sys.stdin)
print("form:  ", r["before"]["status"], r["before"]["heading"])
print("after: ", r["after"]["status"], r["after"]["heading"])'

step "11. Rotated: staged as AWSPENDING, checked at Atlassian, pushed to Entra ID, verified, made current"
for _ in $(seq 240); do
  "$KEYTURN" audit show atlassian/globex/entra --format json | grep -q '"event": "notified"' && break; sleep 0.5
done
run audit show atlassian/globex/entra
echo "Jira (urgent ticket): $(curl -s "$VENDOR/_sim/jira" | python3 -c 'import json,sys; [print(i["key"], i["fields"]["summary"], "| comments:", len(i["comments"])) for i in json.load(sys.stdin)]')"

step "12. A rotation that fails verification is rolled back: the old key stays live, on-call is told"
echo "(fault injected: Atlassian now refuses every read of org acme with 401)"
curl -s -XPOST "$VENDOR/_sim/faults" -H 'content-type: application/json' \
  -d '{"path_prefix": "/admin/v1/orgs/acme", "status": 401, "times": 1000}'
admin=$(python3 -c 'import json; print(next(c["change_id"] for c in json.load(open(".local/demo/scan.json"))["changes"] if c["connector_ids"] == ["atlassian/acme/admin-api"]))')
sleep 2  # moto drops an answer that beats the asking Lambda's return; people are never that fast
link=$("$KEYTURN" dev outbox --subject "$admin" --to ana@acme.example --links | awk '$1=="approve"{print $3}')
node tests/browser/approve.mjs --url "$link" --click approve >/dev/null
for _ in $(seq 240); do
  "$KEYTURN" audit show atlassian/acme/admin-api --format json | grep -q '"event": "notified"' && break; sleep 0.5
done
run audit show atlassian/acme/admin-api
run dev outbox --subject "Rotation rolled back"
run inventory list --due-within 45

step "13. Scanning again starts no duplicate workflow"
run scan

step "14. What an auditor gets: a signed digest, an export, its verification and the reports"
run audit anchor --full
rm -rf .local/demo/export
run audit export --to .local/demo/export
run audit verify .local/demo/export --public-key "$("$KEYTURN" audit public-key)"
run audit query .local/demo/export --report approvals
run audit query .local/demo/export --report rotations
run audit query .local/demo/export --report failures

step "Your turn: change $planned waits for an approver. Open this link in a browser on this machine:"
"$KEYTURN" dev outbox --subject "$planned" --to ana@acme.example --links | awk '$1=="approve"{print "  " $3}'
echo "(the stack keeps running; \`make down\` stops it)"
