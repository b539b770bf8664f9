#!/usr/bin/env bash
# The stories `make demo` tells on the local stack (`make up` has run), with
# real executions, real functions, a real browser and the vendor simulators:
#
#   A  twelve SCIM keys of one org expire within 30 days: one change, one
#      approval (clicked in headless Chromium), rotated in the change window;
#   B  an already-expired key: an urgent Jira ticket, approved, rotated, the
#      final status posted back to the ticket;
#   +  an organization API key its owner created and handed over fails
#      verification: rolled back, the old key kept, on-call told (and that the
#      handed-over key is still live at Atlassian for its owner to revoke);
#   E  an Entra app registration's client secret: approved, then rotated
#      dual-phase through Graph with no human hand-over, and its audit trail;
#   and what an auditor gets; last, one change is left waiting with a link
#   for you to open and approve.
#
# INTERACTIVE=1 prints the approval links and waits for you to click them.
# Every command is one an operator would type; nothing is faked.
set -euo pipefail
cd "$(dirname "$0")/.."

KEYTURN=${KEYTURN:-target/debug/keyturn}
INTERACTIVE=${INTERACTIVE:-0}
OUT=demo-out
WORK=.local/demo
rm -rf "$OUT" "$WORK"
mkdir -p "$OUT" "$WORK"
VENDOR=${KEYTURN_DEV_VENDOR_URL:-http://127.0.0.1:4568}
started=$(date +%s)

step()  { printf '\n\033[1m== %s\033[0m  \033[2m(%ss)\033[0m\n' "$*" "$(( $(date +%s) - started ))"; }
story() { printf '\n\033[1;36m##### %s\033[0m\n' "$*"; }
run()   { printf '$ keyturn %s\n' "$*"; "$KEYTURN" "$@"; }
# wait_for WHAT SECONDS CMD...: polls CMD every half second, says what it waits for.
wait_for() {
  local what=$1 secs=$2; shift 2
  printf '   waiting for %s ' "$what"
  for _ in $(seq $((secs * 2))); do
    if "$@" >/dev/null 2>&1; then echo "ok"; return 0; fi
    printf '.'; sleep 0.5
  done
  echo " gave up after ${secs}s"; return 1
}
change_status() { "$KEYTURN" changes show "$1" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["workflow"]["status"])'; }
ended()         { [ "$(change_status "$1")" != RUNNING ]; }
mail_for()      { [ -n "$("$KEYTURN" dev outbox --subject "$1" --to "$2" --links)" ]; }
link_for()      { "$KEYTURN" dev outbox --subject "$1" --to "$2" --links | awk -v d="${3:-approve}" '$1==d{print $3; exit}'; }
# The outcome table of a finished change.
outcomes() {
  printf '$ keyturn changes show %s\n' "$1"
  "$KEYTURN" changes show "$1" --format json | python3 -c '
import json, sys
v = json.load(sys.stdin)
for o in v["workflow"].get("outcomes", []):
    print("   %-30s %-16s %s" % (o["connector_id"], o["outcome"], (o.get("detail") or "")[:90]))'
}
approved()      { "$KEYTURN" changes show "$1" --format json | grep -q '"decision": "approve"'; }

# Approve CHANGE as APPROVER: headless Chromium clicks (screenshot to $3), or
# a person does with INTERACTIVE=1.
approve() {
  local change=$1 who=$2 shot=${3:-}
  wait_for "the approval email to $who" 120 mail_for "$change" "$who"
  sleep 2  # moto drops an answer that beats the asking Lambda's own return; people are never that fast
  local url; url=$(link_for "$change" "$who")
  if [ "$INTERACTIVE" = 1 ]; then
    printf '\n   Open this link in a browser on this machine and press Approve:\n     %s\n' "$url"
    wait_for "your approval" 900 approved "$change"
    return
  fi
  node tests/browser/approve.mjs --url "$url" --click approve ${shot:+--screenshot-before "$shot" --screenshot "${shot%.png}-done.png" --max-height 900} | python3 -c '
import json,sys; r = json.load(sys.stdin)
print("   page: ", r["before"]["status"], r["before"]["heading"], "| buttons:", r["before"]["buttons"])
print("   after:", r["after"]["status"], r["after"]["heading"])'
}

# The owner of CONNECTOR regenerates its SCIM key in the (simulated)
# Atlassian admin console and pastes it into keyturn's intake form. The key
# travels in an environment variable, never on a command line.
hand_over() {
  local connector=$1 owner=$2 directory=$3
  local url; url=$("$KEYTURN" dev outbox --subject "new SCIM key for $connector " --to "$owner" --links | awk '{print $3; exit}')
  sleep 1  # moto drops an answer that beats the asking Lambda's own return
  DEMO_NEW_KEY=$(curl -s -XPOST "$VENDOR/_sim/atlassian/directories/$directory/regenerate" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') \
    node tests/browser/approve.mjs --url "$url" --fill key=env:DEMO_NEW_KEY --click intake \
    | python3 -c 'import json,sys; r = json.load(sys.stdin); print("   %-28s %s -> %s" % (sys.argv[1], r["before"]["heading"], r["after"]["heading"]))' "$connector"
}

# The owner of CONNECTOR creates a new organization API key in the
# (simulated) admin.atlassian.com console (Atlassian has no API that creates
# one) and pastes it into keyturn's intake form.
hand_over_org_key() {
  local connector=$1 owner=$2 org=$3
  local url; url=$("$KEYTURN" dev outbox --subject "new organization API key for $connector " --to "$owner" --links | awk '{print $3; exit}')
  sleep 1  # moto drops an answer that beats the asking Lambda's own return
  DEMO_NEW_KEY=$(curl -s -XPOST "$VENDOR/_sim/atlassian/orgs/$org/keys" -H 'content-type: application/json' \
      -d '{"label": "keyturn demo"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])') \
    node tests/browser/approve.mjs --url "$url" --fill key=env:DEMO_NEW_KEY --click intake \
    | python3 -c 'import json,sys; r = json.load(sys.stdin); print("   %-28s %s -> %s" % (sys.argv[1], r["before"]["heading"], r["after"]["heading"]))' "$connector"
}

# The demo inventory's dates are relative to now, so the story is the same
# whenever it runs: {{+25d}} is 25 days from today; {{window_now}} a daily
# change window that is open now.
render() {
python3 - "$1" <<'PY'
import datetime, re, sys
now = datetime.datetime.now(datetime.timezone.utc)
today = now.replace(hour=0, minute=0, second=0, microsecond=0)
text = open(sys.argv[1]).read()
text = re.sub(r"\{\{([+-]\d+)d\}\}", lambda m: (today + datetime.timedelta(days=int(m.group(1)))).strftime("%Y-%m-%dT%H:%M:%SZ"), text)
print(text.replace("{{window_now}}", "daily %02d:00-%02d:00" % (now.hour, (now.hour + 3) % 24)), end="")
PY
}
render dev/demo/inventory.csv.tmpl > "$WORK/inventory.csv"
render dev/demo/entra-app.json.tmpl > "$WORK/entra-app.json"

step "1. A broken inventory is refused as a whole: every problem named, nothing written"
run inventory validate dev/demo/inventory-with-errors.csv || echo "(exit code $?: as expected)"

step "2. The real inventory (17 connectors): validate, import; the keys exist at the simulated vendors"
run inventory validate "$WORK/inventory.csv"
run inventory import "$WORK/inventory.csv"
run dev seed-vendors "$WORK/inventory.csv" | tail -1

step "3. Who approves: approver routing (a secret: Slack webhooks are credentials)"
# The Slack simulator listens where this stack put it (VENDOR_PORT may differ from 4568).
sed "s#http://127.0.0.1:4568#$VENDOR#" dev/demo/approvers.yaml > "$WORK/approvers.yaml"
run approvers set "$WORK/approvers.yaml"
run approvers show

step "4. Where things stand before the daily scan"
run status

step "5. The scheduled scan: due keys grouped into changes, one approval workflow each"
run scan --dry-run | tail -4
echo "$ keyturn scan --format json"; "$KEYTURN" scan --format json > "$WORK/scan.json"
python3 - "$WORK/scan.json" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1]))["changes"]:
    who = c["connector_ids"][0] if len(c["connector_ids"]) == 1 else "%d connectors of %s" % (len(c["connector_ids"]), c["connector_ids"][0].split("/")[1])
    print("  %s  %-6s %-8s %s" % (c["change_id"], "URGENT" if c["urgent"] else "", c["outcome"], who))
PY
pick() { python3 -c 'import json,sys; print(next(c["change_id"] for c in json.load(open(sys.argv[1]))["changes"] if eval(sys.argv[2])))' "$WORK/scan.json" "$1"; }
batch=$(pick 'len(c["connector_ids"]) == 12')
urgent=$(pick 'c["urgent"]')
failing=$(pick 'c["connector_ids"] == ["atlassian/initech/admin-api"]')

story "Story A: twelve SCIM keys of org acme expire within 30 days"

step "A1. One change, one approval: the email approvers got (saved with a screenshot under $OUT/)"
wait_for "the approval email" 120 mail_for "$batch" ana@acme.example
run dev outbox --subject "$batch" --to ana@acme.example --html "$OUT/approval-email.html" | head -3
node tests/browser/approve.mjs --url "file://$PWD/$OUT/approval-email.html" --screenshot "$OUT/approval-email.png" --max-height 900 >/dev/null
echo "   Slack: $(curl -s "$VENDOR/_sim/slack" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(len(m), "message(s) to #it-change")')"

step "A2. Ana opens her link in a real browser: what will change, then Approve (screenshot: $OUT/approval-page.png)"
approve "$batch" ana@acme.example "$OUT/approval-page.png"
run changes show "$batch" | sed -n '1,9p'

step "A3. The change window (daily, open now) has started: each key's owner regenerates it in admin.atlassian.com and hands it over"
for unit in emea amer apac finance hr eng sales support legal ops labs retail; do
  wait_for "the key request for scim-$unit" 120 mail_for "new SCIM key for atlassian/acme/scim-$unit " ana@acme.example
  hand_over "atlassian/acme/scim-$unit" ana@acme.example "d-acme-$unit"
done

step "A4. Rotated: each staged as AWSPENDING, pushed to Entra ID, verified, made current"
wait_for "the change to finish" 300 ended "$batch"
outcomes "$batch"

story "Story B: a key that already expired"

step "B1. Urgent: shorter approval timeout, no change window, a Jira ticket opened"
curl -s "$VENDOR/_sim/jira" | python3 -c 'import json,sys; [print("  ", i["key"], i["fields"]["summary"]) for i in json.load(sys.stdin)]'

step "B2. Bo approves; the owner hands over a regenerated key; keyturn rotates it"
approve "$urgent" bo@acme.example
wait_for "the key request" 120 mail_for "new SCIM key for atlassian/globex/entra " bo@globex.example
hand_over atlassian/globex/entra bo@globex.example d-globex-01
wait_for "the change to finish" 240 ended "$urgent"
outcomes "$urgent"

step "B3. The final status is posted back to the ticket"
curl -s "$VENDOR/_sim/jira" | python3 -c '
import json,sys
for i in json.load(sys.stdin):
    print("  ", i["key"], i["fields"]["summary"])
    for c in i["comments"]:
        body = c["body"] if isinstance(c, dict) else c
        for line in [l for l in body.splitlines() if l.startswith(("Finished", "* "))]:
            print("     comment:", line)'

story "A rotation that fails verification is rolled back"

step "R1. Ana approves initech's org API key; its owner creates a new one in admin.atlassian.com and hands it over"
approve "$failing" ana@acme.example
wait_for "the key request" 120 mail_for "new organization API key for atlassian/initech/admin-api " cy@initech.example
# The form's check with Atlassian passes; from then on Atlassian refuses every
# read of org initech (fault injected): the new key cannot be proven.
curl -s -XPOST "$VENDOR/_sim/faults" -H 'content-type: application/json' \
  -d '{"method": "GET", "path_prefix": "/admin/v1/orgs/initech", "status": 401, "skip": 1, "times": 1000}'
echo
hand_over_org_key atlassian/initech/admin-api cy@initech.example initech
wait_for "the rollback" 240 ended "$failing"
outcomes "$failing"

step "R2. The old key stays current and live; on-call got this message (the handed-over key is left for its owner to revoke)"
run dev outbox --subject "Rotation rolled back"
"$KEYTURN" dev outbox --subject "Rotation rolled back" --html "$WORK/rollback.html" >/dev/null
python3 - "$WORK/rollback.html" <<'PY' | sed 's/^/   /' | head -20
import html, re, sys
t = re.sub(r"(?s)<(style|title|head)>.*?</\1>", "", open(sys.argv[1]).read())
t = re.sub(r"<br ?/?>|</p>|</li>|</h1>|</pre>", "\n", t)
print(html.unescape(re.sub(r"<[^>]+>", "", t)).strip())
PY

story "Story E: an Entra app's client secret, rotated through Graph with no hand-over"

step "E1. Payroll sync's client secret expires in 5 days; its app registration is at the simulated Graph"
run inventory import "$WORK/entra-app.json" | tail -1
run dev seed-vendors "$WORK/entra-app.json" | tail -1
echo "$ keyturn scan --only entra/contoso/ --format json"
app_change=$("$KEYTURN" scan --only entra/contoso/ --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"][0]["change_id"])')
echo "   $app_change"

step "E2. Approval is still required: Ana approves in the browser"
approve "$app_change" ana@acme.example

step "E3. Rotated dual-phase: addPassword, AWSPENDING, a token request with the new secret, AWSCURRENT, removePassword of the old"
wait_for "the change to finish" 240 ended "$app_change"
outcomes "$app_change"
curl -s "$VENDOR/_sim/entra/apps/7d9e1f2a-3b4c-4d5e-8f6a-7b8c9d0e1f2a" | python3 -c '
import json,sys
for p in json.load(sys.stdin)["passwords"]:
    print("   Graph now holds one password: keyId %s sha256:%s, ends %s" % (p["keyId"], p["fingerprint"], p["endDateTime"]))'

step "E4. Its audit trail"
run audit show entra/contoso/payroll-sync

step "R3. Day 2: where things stand (keyturn's own credentials too), and a second scan starts nothing twice"
run status
run scan | tail -3

story "What an auditor gets"

step "Z1. A signed digest, an export, its verification and the reports"
run audit anchor --full
run audit export --to "$WORK/export" | tail -1
run audit verify "$WORK/export" --public-key "$("$KEYTURN" audit public-key)"
run audit query "$WORK/export" --report approvals | head -8
run audit query "$WORK/export" --report failures

story "Your turn"

step "Y. A key that expires in 60 days, brought forward by widening the due window to 90 days"
echo "$ KEYTURN_DUE_WITHIN_DAYS=90 keyturn scan --only atlassian/hooli/"
yours=$(KEYTURN_DUE_WITHIN_DAYS=90 "$KEYTURN" scan --only atlassian/hooli/ --format json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["changes"][0]["change_id"])')
wait_for "the approval email to ana@acme.example" 120 mail_for "$yours" ana@acme.example
printf '\n   Change %s is waiting for you. Open this link in a browser on this machine and press Approve\n' "$yours"
printf '   (it is Ana'"'"'s link; Reject works too):\n\n     %s\n\n' "$(link_for "$yours" ana@acme.example)"
printf '   Then its owner is asked for a new organization API key (Atlassian has no API that creates one):\n'
printf '     %s dev outbox --to eve@hooli.example --links   (her hand-over link; paste a key made with\n' "$KEYTURN"
printf '     curl -XPOST %s/_sim/atlassian/orgs/hooli/keys, the simulated admin.atlassian.com)\n' "$VENDOR"
printf '   and %s changes show %s shows it rotated, the old key revoked.\n' "$KEYTURN" "$yours"

step "Done in $(( $(date +%s) - started )) s. Screenshots: $OUT/approval-email.png, $OUT/approval-page.png, $OUT/approval-page-done.png"
echo "The stack keeps running: try \`target/debug/keyturn status\`; \`make down\` stops it."
