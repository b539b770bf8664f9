#!/usr/bin/env python3
"""The CDK app and the Terraform module must describe the same system.

Reads the synthesized CloudFormation template (CDK synthesized with every
optional input set) and parses infra/terraform with python-hcl2, reduces both
to the same facts, and compares them, and both tables to infra/tables.json:

- tables: keys, GSIs, TTL, point-in-time recovery, deletion protection;
- functions: names, runtime, architecture, memory, timeout, reserved concurrency;
- IAM: per function (and the workflow and scheduler roles), the set of
  (action, resource kind) pairs it is allowed;
- the state machine (logging without execution data, the functions it invokes),
  the scan schedule, the approval Function URL, and the alarms;
- the bucket policies of the export and access-log buckets, statement by
  statement (effect, principal, actions, resources, condition);
- the Function URL's resource policy: CDK's AWS::Lambda::Permission resources
  against what Terraform declares plus what the provider adds on its own
  (aws_lambda_function_url with NONE adds both statements from 6.28.0);
- grants that must exist in both, whatever else matches (REQUIRED_GRANTS):
  the task-token hand-over and the Distributed Map's child executions.

It also writes the state machine definition as each tool fills it, for
asl-validator (argument --asl-out DIR).

Usage: parity.py TEMPLATE.json [--asl-out DIR] [--tf-dir DIR]   (exit 1 on any drift)
"""

import argparse
import glob
import json
import os
import re
import sys

import hcl2

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TF_DIR = os.path.join(ROOT, "infra", "terraform")
PREFIX = "keyturn-"

# The CDK context the parity synth uses for the optional inputs, and the kind
# each ARN stands for (Terraform names them by variable).
CONTEXT_ARNS = {
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn/entra-AbCdEf": "secret:entra",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn/okta-AbCdEf": "secret:okta",
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:keyturn/jira-AbCdEf": "secret:jira",
}


# Grants the real system cannot do without, whatever CDK and Terraform agree
# on: a grant dropped from both would pass the comparison. The Distributed
# Map's children run as stateMachine:<name>/<label> with executions
# execution:<name>/<label>:<id>; the key hand-over's token belongs to one.
REQUIRED_GRANTS = {
    "approval-callback": {("states:SendTaskSuccess", "state-machine"), ("states:SendTaskSuccess", "state-machine-children")},
    "(workflow)": {
        ("states:StartExecution", "state-machine"),
        ("states:StartExecution", "state-machine-children"),
        ("states:DescribeExecution", "executions"),
        ("states:DescribeExecution", "child-executions"),
        ("states:StopExecution", "executions"),
        ("states:StopExecution", "child-executions"),
    },
}

# What aws_lambda_function_url with authorization_type NONE adds to the
# function's policy by itself, and from which provider version (CHANGELOG:
# 4.9.0 the URL resource, 6.28.0 #44858 the InvokeFunction statement).
URL_AUTO_PERMISSIONS = [
    ((4, 9), ("lambda:InvokeFunctionUrl", "*", "FunctionUrlAuthType=NONE")),
    ((6, 28), ("lambda:InvokeFunction", "*", "InvokedViaFunctionUrl=true")),
]


def fail(problems):
    for p in problems:
        print(f"parity: {p}", file=sys.stderr)
    sys.exit(1)


# ---- CloudFormation ------------------------------------------------------------


class Cfn:
    def __init__(self, path):
        with open(path) as f:
            self.t = json.load(f)
        self.res = self.t["Resources"]

    def of_type(self, typ):
        return {k: r for k, r in self.res.items() if r["Type"] == typ}

    def kind(self, value):
        """What an IAM Resource entry points at, named as parity() compares it."""
        if isinstance(value, str):
            if value in CONTEXT_ARNS:
                return CONTEXT_ARNS[value]
            return "literal:" + value
        if "Fn::GetAtt" in value or "Ref" in value:
            lid = value["Fn::GetAtt"][0] if "Fn::GetAtt" in value else value["Ref"]
            if lid.startswith("AWS::"):
                return "pseudo:" + lid
            r = self.res[lid]
            p = r.get("Properties", {})
            if r["Type"] == "AWS::DynamoDB::Table":
                return "table:" + p["TableName"].removeprefix(PREFIX)
            if r["Type"] == "AWS::Logs::LogGroup":
                return "log-group"
            if r["Type"] == "AWS::StepFunctions::StateMachine":
                return "state-machine"
            if r["Type"] == "AWS::Lambda::Function":
                return "function:" + p["FunctionName"].removeprefix(PREFIX)
            if r["Type"] == "AWS::S3::Bucket":
                return "bucket:" + self.bucket_name(lid)
            if r["Type"] == "AWS::SecretsManager::Secret":
                names = {"link-signing-key": "signing-key", "approver-routing": "routing", "audit-signing-key": "audit-key"}
                return "secret:" + names[p["Name"].split("/")[-1]]
            return "cfn:" + r["Type"]
        if "Fn::Join" in value:
            parts = value["Fn::Join"][1]
            text = "".join(p if isinstance(p, str) else "" for p in parts)
            refs = [self.kind(p) for p in parts if not isinstance(p, str)]
            index = re.fullmatch(r"/index/([A-Za-z0-9_.-]+)", text)
            if index:
                return "index:" + refs[0].split(":", 1)[1] + "/" + index.group(1)
            if ":secret:" in text and text.endswith("*"):
                return "connector-secrets"
            if ":states:" in text and text.endswith(":stateMachine:keyturn-rotation"):
                return "state-machine"
            if ":states:" in text and text.endswith(":stateMachine:keyturn-rotation/*"):
                return "state-machine-children"
            if text == "/*" and refs == ["state-machine"]:
                return "state-machine-children"
            if refs and refs[0].startswith("bucket:") and len(refs) == 1 and text.startswith("/"):
                return refs[0] + text
            if ":states:" in text and text.endswith(":execution:keyturn-rotation/*"):
                return "child-executions"
            if ":states:" in text and text.endswith(":execution:keyturn-rotation:*"):
                return "executions"
            if ":ses:" in text and ":identity/" in text:
                return "ses-identity"
            if text == ":*" and refs and refs[0].startswith("function:"):
                return refs[0] + ":*"
            return "join:" + text
        return "unknown:" + json.dumps(value)

    def bucket_name(self, lid):
        """The Terraform name of a CDK bucket: the one that logs is the export
        bucket, the one it logs into holds the access logs."""
        p = self.res[lid].get("Properties", {})
        if "LoggingConfiguration" in p:
            return "exports"
        for other in self.of_type("AWS::S3::Bucket").values():
            dest = other.get("Properties", {}).get("LoggingConfiguration", {}).get("DestinationBucketName")
            if dest == {"Ref": lid}:
                return "export_logs"
        return "cfn:" + lid

    def principal(self, value):
        if value == "*" or value == {"AWS": "*"}:
            return "*"
        (kind, ids), *_ = value.items()
        return (kind, tuple(sorted(ids if isinstance(ids, list) else [ids])))

    def statement(self, st):
        listed = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
        condition = {}
        for test, variables in st.get("Condition", {}).items():
            for var, values in variables.items():
                condition[(test, var)] = tuple(sorted(self.kind(v) if not isinstance(v, str) else v for v in listed(values)))
        return (
            st.get("Effect", "Allow"),
            self.principal(st["Principal"]),
            tuple(sorted(listed(st["Action"]))),
            tuple(sorted(self.kind(r) if not (isinstance(r, str) and r == "*") else "*" for r in listed(st["Resource"]))),
            tuple(sorted(condition.items())),
        )

    def bucket_policies(self):
        out = {}
        for pol in self.of_type("AWS::S3::BucketPolicy").values():
            p = pol["Properties"]
            name = self.bucket_name(p["Bucket"]["Ref"])
            out[name] = {self.statement(st) for st in p["PolicyDocument"]["Statement"]}
        return out

    def url_permissions(self):
        out = set()
        for perm in self.of_type("AWS::Lambda::Permission").values():
            p = perm["Properties"]
            if self.kind(p["FunctionName"]) != "function:approval-callback":
                continue
            if "FunctionUrlAuthType" in p:
                cond = f"FunctionUrlAuthType={p['FunctionUrlAuthType']}"
            elif p.get("InvokedViaFunctionUrl") in (True, "true"):
                cond = "InvokedViaFunctionUrl=true"
            else:
                cond = "unconditional"
            out.add((p["Action"], p["Principal"], cond))
        return out

    def role_grants(self, role_id):
        grants = set()
        for pol in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} not in pol["Properties"]["Roles"]:
                continue
            for st in pol["Properties"]["PolicyDocument"]["Statement"]:
                if st.get("Effect", "Allow") != "Allow":
                    continue
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                for a in actions:
                    for r in resources:
                        grants.add((a, "*" if r == "*" else self.kind(r)))
        return grants

    def facts(self):
        f = {"functions": {}, "iam": {}, "alarms": {}, "tables": {}}
        for fn in self.of_type("AWS::Lambda::Function").values():
            p = fn["Properties"]
            name = p["FunctionName"].removeprefix(PREFIX)
            f["functions"][name] = {
                "runtime": p["Runtime"],
                "arch": p["Architectures"],
                "memory": p["MemorySize"],
                "timeout": p["Timeout"],
                "reserved": p.get("ReservedConcurrentExecutions"),
                "log_format": p.get("LoggingConfig", {}).get("LogFormat"),
            }
            f["iam"][name] = self.role_grants(p["Role"]["Fn::GetAtt"][0])
        (sm,) = self.of_type("AWS::StepFunctions::StateMachine").values()
        sp = sm["Properties"]
        f["iam"]["(workflow)"] = self.role_grants(sp["RoleArn"]["Fn::GetAtt"][0])
        f["workflow"] = {
            "include_execution_data": sp["LoggingConfiguration"]["IncludeExecutionData"],
            "level": sp["LoggingConfiguration"]["Level"],
            "placeholders": {k: self.kind(v) for k, v in sp["DefinitionSubstitutions"].items()},
            "tracing": sp.get("TracingConfiguration", {}).get("Enabled", False),
        }
        f["definition"] = sp["DefinitionString"]
        (sched,) = self.of_type("AWS::Scheduler::Schedule").values()
        sc = sched["Properties"]
        f["schedule"] = {"expression": sc["ScheduleExpression"], "target": self.kind(sc["Target"]["Arn"])}
        f["iam"]["(scheduler)"] = self.role_grants(sc["Target"]["RoleArn"]["Fn::GetAtt"][0])
        (url,) = self.of_type("AWS::Lambda::Url").values()
        f["url"] = {"auth": url["Properties"]["AuthType"], "target": self.kind(url["Properties"]["TargetFunctionArn"])}
        f["url_permissions"] = self.url_permissions()
        f["bucket_policies"] = self.bucket_policies()
        for a in self.of_type("AWS::CloudWatch::Alarm").values():
            p = a["Properties"]
            f["alarms"][p["AlarmName"].removeprefix(PREFIX)] = (p["Namespace"], p["MetricName"], p["ComparisonOperator"])
        for t in self.of_type("AWS::DynamoDB::Table").values():
            p = t["Properties"]
            keys = {k["KeyType"]: k["AttributeName"] for k in p["KeySchema"]}
            types = {a["AttributeName"]: a["AttributeType"] for a in p["AttributeDefinitions"]}
            f["tables"][p["TableName"].removeprefix(PREFIX)] = {
                "hash": (keys["HASH"], types[keys["HASH"]]),
                "range": (keys["RANGE"], types[keys["RANGE"]]) if "RANGE" in keys else None,
                "gsi": sorted(
                    (
                        g["IndexName"],
                        tuple((k["AttributeName"], types[k["AttributeName"]]) for k in g["KeySchema"]),
                        g["Projection"]["ProjectionType"],
                        tuple(g["Projection"].get("NonKeyAttributes", [])),
                    )
                    for g in p.get("GlobalSecondaryIndexes", [])
                ),
                "ttl": p.get("TimeToLiveSpecification", {}).get("AttributeName"),
                "pitr": p.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False),
                "deletion_protection": p.get("DeletionProtectionEnabled", False),
            }
        return f


# ---- Terraform -------------------------------------------------------------------


def load_tf(tf_dir=TF_DIR):
    merged = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "terraform": []}
    for path in sorted(glob.glob(os.path.join(tf_dir, "*.tf"))):
        with open(path) as f:
            doc = hcl2.load(f)
        for block in ("resource", "data"):
            for entry in doc.get(block, []):
                for typ, named in entry.items():
                    merged[block].setdefault(typ, {}).update(named)
        for entry in doc.get("locals", []):
            merged["locals"].update(entry)
        for entry in doc.get("variable", []):
            merged["variable"].update(entry)
        merged["terraform"].extend(doc.get("terraform", []))
    return merged


def provider_floor(tf):
    """The lowest AWS provider version the module accepts (versions.tf)."""
    for block in tf["terraform"]:
        for req in block.get("required_providers", []):
            aws = req.get("aws")
            if aws:
                m = re.search(r">=\s*(\d+)\.(\d+)", aws["version"])
                if m:
                    return (int(m.group(1)), int(m.group(2)))
    raise ValueError("versions.tf: no lower bound (>=) on the aws provider")


class Tf:
    """Just enough of Terraform's expressions to read keyturn's module, with
    every optional input set (as the parity synth of the CDK app has them)."""

    def __init__(self, tf_dir=TF_DIR):
        self.tf = load_tf(tf_dir)
        self.locals = self.tf["locals"]

    def local(self, path):
        v = self.locals
        for part in path.split("."):
            v = v[part]
        return v

    def strings(self, value, each):
        """A statement's actions: literals, ${each.value} or a local list."""
        if isinstance(value, list):
            return value
        if value == "${each.value}":
            return each[1]
        m = re.fullmatch(r"\$\{local\.([a-z_.]+)\}", value)
        if m:
            return self.local(m.group(1))
        raise ValueError(f"parity.py cannot read actions {value!r}; teach it")

    def kind(self, r):
        table = re.fullmatch(r"\$\{aws_dynamodb_table\.(\w+)\.arn\}(/index/(.+))?", r)
        if table:
            return f"index:{table.group(1)}/{table.group(3)}" if table.group(2) else f"table:{table.group(1)}"
        simple = {
            "${local.connector_secrets}": "connector-secrets",
            "${local.state_machine_arn}": "state-machine",
            "${local.child_state_machines_arn}": "state-machine-children",
            "${aws_s3_bucket.exports.arn}": "bucket:exports",
            "${aws_s3_bucket.export_logs.arn}": "bucket:export_logs",
            "${data.aws_caller_identity.current.account_id}": "pseudo:AWS::AccountId",
            "${local.child_executions_arn}": "child-executions",
            "${local.executions_arn}": "executions",
            "${aws_secretsmanager_secret.signing_key.arn}": "secret:signing-key",
            "${aws_secretsmanager_secret.routing.arn}": "secret:routing",
            "${aws_secretsmanager_secret.audit_key.arn}": "secret:audit-key",
        }
        if r in simple:
            return simple[r]
        if re.fullmatch(r"\$\{aws_cloudwatch_log_group\.function\[each\.key\]\.arn\}:\*", r):
            return "log-group"
        fn = re.fullmatch(r'\$\{aws_lambda_function\.function\["([a-z-]+)"\]\.arn\}(:\*)?', r)
        if fn:
            return f"function:{fn.group(1)}" + (fn.group(2) or "")
        return "tf:" + r

    def resources(self, value):
        """A statement's resources, as kinds; list-valued locals expand."""
        if value == "*" or value == ["*"]:
            return ["*"]
        if isinstance(value, str):
            value = [value]
        out = []
        for r in value:
            if r == "*":
                out.append("*")
            elif r == "${local.ses_identities}":
                out.append("ses-identity")
            elif r == "${local.idp_secrets}":
                out.extend(["secret:entra", "secret:okta"])
            elif r == "${local.jira_secrets}":
                out.append("secret:jira")
            elif r.startswith("${concat("):
                inner = r[len("${concat("):-2]
                for part in re.findall(r"\[([^\]]*)\]|(local\.\w+)", inner):
                    if part[0]:
                        refs = (x.strip().removeprefix("${").removesuffix("}") for x in part[0].split(","))
                        out.extend(self.kind("${" + x + "}") for x in refs if x)
                    else:
                        out.extend(self.resources("${" + part[1] + "}"))
            elif r.startswith("${flatten("):
                out.extend(f"function:{fn}{suffix}" for fn in self.local("workflow_functions").values() for suffix in ("", ":*"))
            else:
                out.append(self.kind(r))
        return out

    def condition(self, expr, each):
        """A dynamic block's for_each, evaluated for `each`."""
        m = re.fullmatch(r'\$\{each\.key == "([a-z_-]+)" \? (\[\]|\[1\]) : (\[\]|\[1\])\}', expr)
        if m:
            return (m.group(2) if each[0] == m.group(1) else m.group(3)) == "[1]"
        m = re.fullmatch(r'\$\{contains\(\[([a-z", -]+)\], each\.key\) \? \[1\] : \[\]\}', expr)
        if m:
            # python-hcl2 drops the quotes inside the list.
            return each[0] in [x.strip(' "') for x in m.group(1).split(",")]
        if expr in ("${length(local.idp_secrets) > 0 ? [1] : []}", "${var.tracing ? [1] : []}"):
            return True
        raise ValueError(f"parity.py cannot evaluate for_each {expr!r}; teach it")

    def document(self, doc, each=(None, None)):
        grants = set()
        for src in doc.get("source_policy_documents", []):
            m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", src)
            if not m:
                raise ValueError(f"parity.py cannot read source_policy_documents entry {src!r}; teach it")
            grants |= self.document(self.tf["data"]["aws_iam_policy_document"][m.group(1)], each)
        statements = list(doc.get("statement", []))
        for dyn in doc.get("dynamic", []):
            st = dyn["statement"]
            if self.condition(st["for_each"], each):
                statements.extend(st["content"])
        for st in statements:
            if st.get("effect", "Allow") != "Allow":
                continue
            for a in self.strings(st["actions"], each):
                for r in self.resources(st["resources"]):
                    grants.add((a, r))
        return grants

    def url_permissions(self, url):
        """The Function URL's statements: the provider's own (by version, at
        the module's floor) and every aws_lambda_permission on the function."""
        floor = provider_floor(self.tf)
        auto = {p for since, p in URL_AUTO_PERMISSIONS if url["authorization_type"] == "NONE" and floor >= since}
        declared, duplicates = set(), []
        for name, p in self.tf["resource"].get("aws_lambda_permission", {}).items():
            if "approval_callback" not in p["function_name"]:
                continue
            if "function_url_auth_type" in p:
                cond = f"FunctionUrlAuthType={p['function_url_auth_type']}"
            elif p.get("invoked_via_function_url") is True:
                cond = "InvokedViaFunctionUrl=true"
            else:
                cond = "unconditional"
            perm = (p["action"], p["principal"], cond)
            if perm in auto:
                duplicates.append(
                    f"aws_lambda_permission.{name} duplicates {perm[0]} ({cond}), which aws_lambda_function_url adds "
                    f"itself at the module's provider floor {'.'.join(map(str, floor))} (approval.tf, URL_AUTO_PERMISSIONS)"
                )
            declared.add(perm)
        return auto | declared, duplicates

    def bucket_value(self, v, each):
        """A bucket policy string: ${each.value} stands for bucket `each`."""
        m = re.fullmatch(r"\$\{each\.value\}(.*)", v)
        if m:
            rest = re.sub(r"\$\{local\.(\w+)\}", lambda x: self.local(x.group(1)), m.group(1))
            return f"bucket:{each}{rest}"
        return self.kind(v) if v.startswith("${") else v

    def bucket_policies(self):
        docs = self.tf["data"]["aws_iam_policy_document"]
        out = {}
        for pol in self.tf["resource"]["aws_s3_bucket_policy"].values():
            m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\[each\.key\]\.json\}", pol["policy"])
            if not m:
                raise ValueError(f"parity.py cannot read bucket policy {pol['policy']!r}; teach it")
            doc = docs[m.group(1)]
            for bucket in pol["for_each"]:
                statements = list(doc.get("statement", []))
                for dyn in doc.get("dynamic", []):
                    st = dyn["statement"]
                    if self.condition(st["for_each"], (bucket, None)):
                        statements.extend(st["content"])
                out[bucket] = {self.statement(st, bucket) for st in statements}
        return out

    def statement(self, st, bucket):
        principals = st.get("principals", [])
        if len(principals) != 1:
            raise ValueError("parity.py reads one principals block per bucket policy statement; teach it more")
        p = principals[0]
        principal = "*" if p["type"] == "*" or (p["type"] == "AWS" and p["identifiers"] == ["*"]) else (p["type"], tuple(sorted(p["identifiers"])))
        condition = {}
        for c in st.get("condition", []):
            condition[(c["test"], c["variable"])] = tuple(sorted(self.bucket_value(v, bucket) for v in c["values"]))
        return (
            st.get("effect", "Allow"),
            principal,
            tuple(sorted(st["actions"])),
            tuple(sorted(self.bucket_value(r, bucket) for r in st["resources"])),
            tuple(sorted(condition.items())),
        )

    def facts(self):
        res, data = self.tf["resource"], self.tf["data"]
        docs = data["aws_iam_policy_document"]
        f = {"functions": {}, "iam": {}, "alarms": {}, "tables": {}}
        fns = self.local("functions")
        lambdas = res["aws_lambda_function"]
        for name, size in fns.items():
            block = lambdas["approval_callback"] if name == "approval-callback" else lambdas["function"]
            reserved = block.get("reserved_concurrent_executions")
            if isinstance(reserved, str):
                m = re.fullmatch(r'\$\{each\.key == "([a-z_-]+)" \? (-?\d+) : (-?\d+)\}', reserved)
                reserved = int(m.group(2) if name == m.group(1) else m.group(3))
            f["functions"][name] = {
                "runtime": block["runtime"],
                "arch": block["architectures"],
                "memory": size["memory"],
                "timeout": size["timeout"],
                "reserved": None if reserved in (None, -1) else reserved,
                "log_format": block["logging_config"][0]["log_format"],
            }
            policy = self.local("policies")[name]
            m = re.fullmatch(r'\$\{data\.aws_iam_policy_document\.(\w+)(\["(\w+)"\])?\.json\}', policy)
            doc = docs[m.group(1)]
            each = (m.group(3), self.local("step_secret_actions")[m.group(3)]) if m.group(3) else (None, None)
            f["iam"][name] = self.document(doc, each) | self.document(docs["logs"])
        f["iam"]["(workflow)"] = self.document(docs["workflow"])
        f["iam"]["(scheduler)"] = self.document(docs["scheduler"])
        sm = res["aws_sfn_state_machine"]["rotation"]
        f["workflow"] = {
            "include_execution_data": sm["logging_configuration"][0]["include_execution_data"],
            "level": sm["logging_configuration"][0]["level"],
            "placeholders": {k: f"function:{v}" for k, v in self.local("workflow_functions").items()},
            "tracing": True,
        }
        sched = res["aws_scheduler_schedule"]["scan"]
        default_schedule = self.tf["variable"]["scan_schedule"]["default"]
        f["schedule"] = {"expression": default_schedule, "target": self.kind(sched["target"][0]["arn"])}
        url = res["aws_lambda_function_url"]["approval"]
        f["url"] = {"auth": url["authorization_type"], "target": "function:approval-callback"}
        f["url_permissions"], f["url_duplicates"] = self.url_permissions(url)
        f["bucket_policies"] = self.bucket_policies()
        ops = {"GreaterThanOrEqualToThreshold": "GreaterThanOrEqualToThreshold", "LessThanThreshold": "LessThanThreshold"}
        for name, a in self.local("alarms").items():
            f["alarms"][name] = (a["namespace"], a["metric"], ops[a["comparison"]])
        for name, t in res["aws_dynamodb_table"].items():
            types = {a["name"]: a["type"] for a in t["attribute"]}
            f["tables"][name] = {
                "hash": (t["hash_key"], types[t["hash_key"]]),
                "range": (t["range_key"], types[t["range_key"]]) if "range_key" in t else None,
                "gsi": sorted(
                    (
                        g["name"],
                        tuple((k, types[k]) for k in gsi_keys(name, g)),
                        g["projection_type"],
                        tuple(g.get("non_key_attributes", [])),
                    )
                    for g in t.get("global_secondary_index", [])
                ),
                "ttl": t["ttl"][0]["attribute_name"] if "ttl" in t else None,
                "pitr": t["point_in_time_recovery"][0]["enabled"],
                "deletion_protection": t["deletion_protection_enabled"],
            }
        return f


def gsi_keys(table, gsi):
    """A GSI's keys, HASH first, from its key_schema blocks. hash_key and
    range_key inside global_secondary_index are deprecated since provider
    6.29.0 (key_schema, #45357): refuse them so they do not come back."""
    for old in ("hash_key", "range_key"):
        if old in gsi:
            raise ValueError(
                f"aws_dynamodb_table.{table}: global_secondary_index {gsi['name']!r} uses deprecated {old}; "
                "use key_schema blocks (AWS provider >= 6.29)"
            )
    keys = {k["key_type"]: k["attribute_name"] for k in gsi.get("key_schema", [])}
    return [k for k in (keys.get("HASH"), keys.get("RANGE")) if k]


# ---- infra/tables.json -------------------------------------------------------------


def spec_tables():
    with open(os.path.join(ROOT, "infra", "tables.json")) as f:
        spec = json.load(f)
    out = {}
    for t in spec["tables"]:
        key = lambda k: (k["name"], k["type"])  # noqa: E731
        out[t["logical_name"]] = {
            "hash": key(t["partition_key"]),
            "range": key(t["sort_key"]) if "sort_key" in t else None,
            "gsi": sorted(
                (
                    g["name"],
                    tuple(key(k) for k in (g["partition_key"], g.get("sort_key")) if k),
                    g["projection"],
                    tuple(g.get("non_key_attributes", [])),
                )
                for g in t.get("global_secondary_indexes", [])
            ),
            "ttl": t.get("ttl_attribute"),
            "pitr": t["point_in_time_recovery"],
            "deletion_protection": t["deletion_protection"],
        }
    return out


def compare(label, a, b, problems, names=("CDK", "Terraform")):
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                problems.append(f"{label}.{k}: only in {names[1]}: {b[k]}")
            elif k not in b:
                problems.append(f"{label}.{k}: only in {names[0]}: {a[k]}")
            else:
                compare(f"{label}.{k}", a[k], b[k], problems, names)
    elif isinstance(a, set) and isinstance(b, set):
        for x in sorted(a - b):
            problems.append(f"{label}: only in {names[0]}: {x}")
        for x in sorted(b - a):
            problems.append(f"{label}: only in {names[1]}: {x}")
    else:
        problems.append(f"{label}: {names[0]} {a!r} != {names[1]} {b!r}")


def unexplained_skips(templates):
    """A checkov skip without a reason is a silenced finding: refuse it."""
    problems = []
    for path in sorted(glob.glob(os.path.join(TF_DIR, "**", "*.tf"), recursive=True)):
        with open(path) as f:
            for n, line in enumerate(f, 1):
                m = re.search(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?", line)
                if m and len((m.group(2) or "").strip()) < 10:
                    problems.append(f"{os.path.relpath(path, ROOT)}:{n}: checkov skip {m.group(1)} without a reason")
    for path in templates:
        with open(path) as f:
            resources = json.load(f)["Resources"]
        for lid, r in resources.items():
            for skip in r.get("Metadata", {}).get("checkov", {}).get("skip", []):
                if len(skip.get("comment", "").strip()) < 10:
                    problems.append(f"{path}: {lid}: checkov skip {skip.get('id')} without a reason")
    return problems


def fill(definition, values):
    def sub(m):
        if m.group(1) not in values:
            raise KeyError(f"placeholder ${{{m.group(1)}}} has no value")
        return values[m.group(1)]

    return re.sub(r"\$\{([A-Za-z0-9]+)\}", sub, definition)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("template")
    ap.add_argument("--asl-out")
    ap.add_argument("--tf-dir", default=TF_DIR, help="the Terraform module (default infra/terraform)")
    ap.add_argument("--skip-reasons", nargs="*", default=[], metavar="TEMPLATE", help="more templates whose checkov skips need reasons")
    args = ap.parse_args()

    cfn = Cfn(args.template).facts()
    problems = []
    try:
        tf = Tf(args.tf_dir).facts()
    except ValueError as e:
        fail([str(e)])
    compare("tables", spec_tables(), cfn["tables"], problems, ("infra/tables.json", "CDK"))
    compare("tables", spec_tables(), tf["tables"], problems, ("infra/tables.json", "Terraform"))
    for part in ("functions", "iam", "workflow", "schedule", "url", "url_permissions", "bucket_policies", "alarms"):
        compare(part, cfn[part], tf[part], problems)
    problems.extend(tf["url_duplicates"])
    # S3 delivers access logs only through this grant (ACLs are disabled).
    for tool, facts in (("CDK", cfn), ("Terraform", tf)):
        if not any(st[0] == "Allow" and st[1] == ("Service", ("logging.s3.amazonaws.com",)) for st in facts["bucket_policies"].get("export_logs", ())):
            problems.append(f"bucket_policies.export_logs: {tool} lets no logging.s3.amazonaws.com deliver the export bucket's access logs")
    for role, needed in REQUIRED_GRANTS.items():
        for tool, facts in (("CDK", cfn), ("Terraform", tf)):
            for action, resource in sorted(needed - facts["iam"].get(role, set())):
                problems.append(f"iam.{role}: {tool} lacks {action} on {resource} (REQUIRED_GRANTS: a Distributed Map child needs it)")
    for name, grants in cfn["iam"].items():
        for action, resource in grants:
            if "*" in action:
                problems.append(f"iam.{name}: wildcard action {action}")
            if resource == "*" and not action.startswith(("logs:", "xray:")):
                problems.append(f"iam.{name}: {action} on every resource")

    problems.extend(unexplained_skips([args.template, *args.skip_reasons]))

    with open(os.path.join(ROOT, "statemachine", "rotation.asl.json")) as f:
        asl = f.read()
    if cfn["definition"] != asl:
        problems.append("the CDK template's DefinitionString is not statemachine/rotation.asl.json")
    if args.asl_out:
        os.makedirs(args.asl_out, exist_ok=True)
        arn = "arn:aws:lambda:us-east-1:123456789012:function:" + PREFIX + "{}"
        for tool, facts in (("cdk", cfn), ("terraform", tf)):
            values = {k: arn.format(v.split(":", 1)[1]) for k, v in facts["workflow"]["placeholders"].items()}
            try:
                filled = fill(asl, values)
            except KeyError as e:
                problems.append(f"{tool}: {e.args[0]}")
                continue
            with open(os.path.join(args.asl_out, f"rotation.{tool}.asl.json"), "w") as f:
                f.write(filled)

    if problems:
        fail(problems)
    n = {k: len(cfn[k]) for k in ("tables", "functions", "iam", "alarms")}
    pairs = sum(len(g) for g in cfn["iam"].values())
    print(
        f"parity: CDK and Terraform agree: {n['tables']} tables (= infra/tables.json), {n['functions']} functions, "
        f"{pairs} IAM grants over {n['iam']} roles, workflow, schedule, approval URL and its {len(cfn['url_permissions'])} "
        f"permissions, {len(cfn['bucket_policies'])} bucket policies, {n['alarms']} alarms"
    )


if __name__ == "__main__":
    main()
