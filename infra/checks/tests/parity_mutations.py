#!/usr/bin/env python3
"""parity.py must fail when a grant goes missing: each case removes one
statement (from a copy of the CDK template or of the Terraform module) and
expects parity.py to exit 1 naming it. Usage: parity_mutations.py TEMPLATE.json"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PARITY = os.path.join(ROOT, "infra", "checks", "parity.py")


def run(template, tf_dir):
    p = subprocess.run([sys.executable, PARITY, template, "--tf-dir", tf_dir], capture_output=True, text=True)
    return p.returncode, p.stderr


def tf_case(tmp, file, old, new):
    d = os.path.join(tmp, "tf")
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "infra", "terraform"), d)
    path = os.path.join(d, file)
    with open(path) as f:
        text = f.read()
    if old not in text:
        raise SystemExit(f"parity_mutations: {file} no longer holds the text this case removes; update the case")
    with open(path, "w") as f:
        f.write(text.replace(old, new, 1))
    return d


def cdk_case(tmp, template, drop):
    with open(template) as f:
        t = json.load(f)
    hits = 0
    for r in t["Resources"].values():
        doc = r.get("Properties", {}).get("PolicyDocument")
        if not doc:
            continue
        kept = [st for st in doc["Statement"] if not drop(st)]
        hits += len(doc["Statement"]) - len(kept)
        doc["Statement"] = kept
    if not hits:
        raise SystemExit("parity_mutations: the CDK template no longer holds the statement this case removes; update the case")
    path = os.path.join(tmp, "mutated.template.json")
    with open(path, "w") as f:
        json.dump(t, f)
    return path


def main():
    template = sys.argv[1]
    tf = os.path.join(ROOT, "infra", "terraform")
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        rc, err = run(template, tf)
        if rc != 0:
            sys.exit(f"parity_mutations: parity.py fails on the unmutated inputs:\n{err}")
        cases = [
            (
                "Terraform: the log-delivery grant removed from the access-log bucket policy",
                lambda: (template, tf_case(tmp, "tables.tf", 'identifiers = ["logging.s3.amazonaws.com"]', 'identifiers = ["logging.s3.amazonaws.com.invalid"]')),
                "bucket_policies.export_logs: only in CDK",
            ),
            (
                "Terraform: SendTaskSuccess on the map children removed",
                lambda: (template, tf_case(tmp, "iam.tf", "resources = [local.state_machine_arn, local.child_state_machines_arn]", "resources = [local.state_machine_arn]")),
                "Terraform lacks states:SendTaskSuccess on state-machine-children",
            ),
            (
                "CDK: SendTaskSuccess removed altogether",
                lambda: (cdk_case(tmp, template, lambda st: st.get("Action") == "states:SendTaskSuccess"), tf),
                "CDK lacks states:SendTaskSuccess on state-machine",
            ),
            (
                "CDK: the log-delivery grant removed",
                lambda: (cdk_case(tmp, template, lambda st: st.get("Principal") == {"Service": "logging.s3.amazonaws.com"}), tf),
                "bucket_policies.export_logs: only in Terraform",
            ),
            (
                "Both: the child executions dropped from the workflow's Describe/Stop",
                lambda: (
                    cdk_case(tmp, template, lambda st: st.get("Action") == ["states:DescribeExecution", "states:StopExecution"]),
                    tf_case(tmp, "statemachine.tf", "resources = [local.executions_arn, local.child_executions_arn]", "resources = []"),
                ),
                "CDK lacks states:DescribeExecution on child-executions",
            ),
            (
                "Terraform: the redundant aws_lambda_permission put back",
                lambda: (template, tf_case(tmp, "approval.tf", "resource \"aws_cloudfront_distribution\"", 'resource "aws_lambda_permission" "approval_invoke" {\n  statement_id             = "FunctionUrlAllowInvokeFunction"\n  action                   = "lambda:InvokeFunction"\n  function_name            = aws_lambda_function.approval_callback.function_name\n  principal                = "*"\n  invoked_via_function_url = true\n}\n\nresource "aws_cloudfront_distribution"')),
                "duplicates lambda:InvokeFunction",
            ),
        ]
        for name, make, want in cases:
            t, d = make()
            rc, err = run(t, d)
            if rc == 0 or want not in err:
                failures.append(f"{name}: expected parity.py to fail with {want!r}, got rc={rc}: {err.strip() or 'no output'}")
    for f in failures:
        print(f"parity_mutations: {f}", file=sys.stderr)
    if failures:
        sys.exit(1)
    print(f"parity_mutations: {len(cases)} removed or duplicated grants, each caught by parity.py")


if __name__ == "__main__":
    main()
