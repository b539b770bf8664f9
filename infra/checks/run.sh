#!/usr/bin/env bash
# The offline checks of infra/ (make infra-check, part of make test): no AWS
# account, no provider downloads. Synthesizes the CDK app twice (defaults, and
# every optional input set), lints both templates and the Terraform module,
# and holds CDK and Terraform to the same system (parity.py).
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

step "asl-validator (the definition as CDK and Terraform fill it)"
infra/cdk/node_modules/.bin/asl-validator --json-path "$out/asl/rotation.cdk.asl.json" --json-path "$out/asl/rotation.terraform.asl.json"
step "all infra checks passed"
