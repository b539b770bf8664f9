#!/usr/bin/env python3
"""`terraform validate`, offline, against the AWS provider's real schema.

The provider binary cannot be downloaded here, but prebuilt provider bindings
on npm (@cdktf/provider-aws, @cdktn/provider-aws) are generated from the
provider's own schema: every resource and data source, each argument and
block, required or optional, and the computed attributes. `extract` reads one
such package into a small JSON schema; `check` holds a Terraform module to it:

- every resource, data source and ephemeral resource type exists;
- every argument and block is known, used as what it is (an argument is not
  written as a block, a block not as an argument, a computed attribute is not
  set), and given once;
- every required argument and block is present;
- every reference aws_x.name.attr / data.aws_x.name.attr / ephemeral.aws_x.name.attr
  names a declared resource and an attribute of its type; local.x, var.x and
  module.x.out name something declared;
- module calls pass known inputs and every required one;
- arguments the provider deprecates (DEPRECATED: the bindings carry no
  deprecation flags) are refused.

`check --at floor --at newest` validates at the module's declared provider
floor (the newest schema at or below it: an older schema can only be
stricter) and at the newest schema available. `selftest` runs the checker on
deliberately broken snippets (infra/checks/tests/tfschema/*.tf, each line
`# expect: TEXT` is an error the file must produce, and no other) so a
checker that passes everything fails the build.

Usage:
  tfschema.py extract PACKAGE_DIR OUT.json
  tfschema.py check --schemas DIR --at floor|newest|X.Y [--at ...] MODULE_DIR...
  tfschema.py selftest --schemas DIR CASES_DIR
"""

import argparse
import glob
import json
import os
import re
import sys

# ---- extract ------------------------------------------------------------------

PROP = re.compile(r"/\*\*((?:(?!\*/).)*)\*/\s*readonly (\w+)(\?)?: ([^;]+);", re.S)
ANCHOR = re.compile(r"#([a-z0-9_]+) ")
INTERFACE = re.compile(r"export interface (\w+)(?: extends [\w.]+)? \{(.*?)\n\}", re.S)
TYPE_NAME = re.compile(r'static readonly tfResourceType = "([a-z0-9_]+)";')
ATTR = re.compile(r"get\w*Attribute\('([a-z0-9_]+)'\)|interpolationForAttribute\('([a-z0-9_]+)'\)|\(this, \"([a-z0-9_]+)\"")


def interfaces(dts):
    out = {}
    for name, body in INTERFACE.findall(dts):
        props = {}
        for doc, _prop, optional, typ in PROP.findall(body):
            anchor = ANCHOR.search(doc)
            if not anchor:
                continue
            is_block = bool(re.search(r"\* [a-z0-9_]+ block\s", doc))
            nested = re.match(r"(\w+)", typ.strip()).group(1) if is_block else None
            props[anchor.group(1)] = {"required": not optional, "block": nested}
        out[name] = props
    return out


def build(ifaces, name, depth=0):
    args, blocks = {}, {}
    for tf, p in ifaces.get(name, {}).items():
        if p["block"] and depth < 12:
            blocks[tf] = {"required": p["required"], "schema": build(ifaces, p["block"], depth + 1)}
        else:
            args[tf] = {"required": p["required"]}
    return {"args": args, "blocks": blocks}


def extract(pkg_dir, out_path):
    with open(os.path.join(pkg_dir, "package.json")) as f:
        meta = json.load(f)
    gen = meta.get("cdktn") or meta.get("cdktf")
    version = gen["provider"]["version"]
    schema = {"provider_version": version, "package": f"{meta['name']}@{meta['version']}", "resource": {}, "data": {}, "provider": None}
    for d in sorted(glob.glob(os.path.join(pkg_dir, "lib", "*", "index.d.ts"))):
        lib = os.path.dirname(d)
        with open(d) as f:
            dts = f.read()
        ifaces = interfaces(dts)
        if os.path.basename(lib) == "provider":
            schema["provider"] = build(ifaces, "AwsProviderConfig")
            continue
        m = TYPE_NAME.search(dts)
        if not m:
            continue
        config = next((n for n in ifaces if n.endswith("Config") and re.search(rf"export interface {n} extends cdk\w+\.TerraformMetaArguments", dts)), None)
        if not config:
            continue
        block = build(ifaces, config)
        cls = config[: -len("Config")]
        with open(os.path.join(lib, "index.js")) as f:
            js = f.read()
        start = js.find(f"class {cls} extends ")
        end = js.find(f"exports.{cls} = {cls};", start)
        body = js[start:end] if start >= 0 else ""
        attrs = sorted({a or b or c for a, b, c in ATTR.findall(body)} | {"id"})
        block["attrs"] = attrs
        kind = "data" if os.path.basename(lib).startswith("data-aws-") else "resource"
        schema[kind][m.group(1)] = block
    if not schema["resource"] or not schema["provider"]:
        sys.exit(f"tfschema: {pkg_dir} holds no provider schema I can read")
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "w") as f:
        json.dump(schema, f, separators=(",", ":"))
    print(f"tfschema: {schema['package']} = hashicorp/aws {version}: {len(schema['resource'])} resources, {len(schema['data'])} data sources")


# ---- check --------------------------------------------------------------------

META_ARGS = {"count", "for_each", "depends_on", "provider"}
META_BLOCKS = {"lifecycle", "provisioner", "connection"}
TOP_BLOCKS = {"terraform", "provider", "variable", "output", "locals", "module", "resource", "data", "ephemeral", "moved", "import", "check", "removed"}

# Deprecated by the provider (the bindings carry no deprecation flag), with the
# version that brought the replacement and where it is said.
DEPRECATED = {
    ("aws_dynamodb_table", "global_secondary_index", "hash_key"): ((6, 29), "use key_schema blocks (provider CHANGELOG 6.29.0, #45357)"),
    ("aws_dynamodb_table", "global_secondary_index", "range_key"): ((6, 29), "use key_schema blocks (provider CHANGELOG 6.29.0, #45357)"),
    ("aws_region", "name"): ((6, 0), "use region (provider 6.0 upgrade guide)"),
}

# The bindings have no ephemeral resources (CDK for Terraform does not model
# them). The provider's ephemeral resources used here take the arguments and
# give the attribute of their data source twin (both wrap the same API call,
# secretsmanager:GetRandomPassword): checked against that.
EPHEMERAL_TWINS = {"aws_secretsmanager_random_password": "aws_secretsmanager_random_password"}


def parse_version(v):
    return tuple(int(x) for x in v.split(".")[:2])


class Node:
    """The parts of python-hcl2's lark tree the checks read."""

    @staticmethod
    def line(tree):
        meta = getattr(tree, "meta", None)
        return getattr(meta, "line", None) if meta and not getattr(meta, "empty", True) else None

    @staticmethod
    def ident(tree):
        return str(tree.children[0])

    @staticmethod
    def label(tree):
        # string -> string_part(s)
        return "".join(str(c.children[0]) if hasattr(c, "children") and c.children else str(c) for c in tree.children)


def body_items(body):
    """(kind, name, labels, node, line) for each attribute and block of a body."""
    for c in body.children:
        if not hasattr(c, "data"):
            continue
        if c.data == "attribute":
            yield "attr", Node.ident(c.children[0]), [], c, Node.line(c)
        elif c.data == "block":
            name = Node.ident(c.children[0])
            labels = [Node.label(x) if x.data == "string" else Node.ident(x) for x in c.children[1:-1]]
            yield "block", name, labels, c, Node.line(c)


def block_body(block):
    return block.children[-1]


def chains(tree):
    """Every traversal (root, [steps], line) in an expression; a step is
    ('attr', name) or ('index',) or ('splat',)."""
    out = []

    def flatten(t):
        steps = []
        while hasattr(t, "data"):
            if t.data == "expr_term" and len(t.children) == 1 and hasattr(t.children[0], "data"):
                t = t.children[0]
            elif t.data == "get_attr_expr_term":
                steps.append(("attr", Node.ident(t.children[1].children[0])))
                t = t.children[0]
            elif t.data == "index_expr_term":
                steps.append(("index",))
                walk(t.children[1])
                t = t.children[0]
            elif t.data in ("attr_splat_expr_term", "full_splat_expr_term"):
                steps.append(("splat",))
                for c in t.children[1:]:
                    walk(c)
                t = t.children[0]
            elif t.data == "identifier":
                return str(t.children[0]), list(reversed(steps))
            else:
                walk(t)
                return None, []
        return None, []

    def walk(t):
        if not hasattr(t, "data"):
            return
        if t.data in ("get_attr_expr_term", "index_expr_term", "attr_splat_expr_term", "full_splat_expr_term"):
            line = Node.line(t)
            root, steps = flatten(t)
            if root:
                out.append((root, steps, line))
            return
        for c in t.children:
            walk(c)

    walk(tree)
    return out


class Module:
    def __init__(self, paths):
        from hcl2.parser import parser

        self.files = []
        for path in paths:
            with open(path) as f:
                text = f.read()
            try:
                tree = parser().parse(text + "\n")
            except Exception as e:  # lark's errors carry the position
                raise SystemExit(f"{path}: cannot parse: {e}")
            self.files.append((path, tree.children[0]))
        self.declared = {"resource": {}, "data": {}, "ephemeral": {}, "locals": set(), "variable": {}, "module": {}, "output": set()}
        self.floor = None
        for path, body in self.files:
            for kind, name, labels, node, line in body_items(body):
                if kind != "block":
                    continue
                if name in ("resource", "data", "ephemeral") and len(labels) == 2:
                    self.declared[name].setdefault(labels[0], set()).add(labels[1])
                elif name == "locals":
                    for k, lname, _l, _n, _ln in body_items(block_body(node)):
                        self.declared["locals"].add(lname)
                elif name == "variable":
                    has_default = any(n == "default" for _k, n, _l, _n, _ln in body_items(block_body(node)))
                    self.declared["variable"][labels[0]] = has_default
                elif name == "output":
                    self.declared["output"].add(labels[0])
                elif name == "module":
                    self.declared["module"][labels[0]] = node
                elif name == "terraform":
                    self.floor = self.floor or provider_floor(block_body(node))


def provider_floor(terraform_body):
    for kind, name, _l, node, _ln in body_items(terraform_body):
        if kind == "block" and name == "required_providers":
            for k, pname, _l2, attr, _ in body_items(block_body(node)):
                if pname == "aws":
                    text = str(attr)
                    m = re.search(r">=\s*(\d+\.\d+(?:\.\d+)?)", text)
                    if m:
                        return m.group(1)
    return None


class Checker:
    def __init__(self, schema, module, module_dir):
        self.s = schema
        self.m = module
        self.dir = module_dir
        self.version = parse_version(schema["provider_version"])
        self.errors = []

    def err(self, path, line, msg):
        self.errors.append(f"{os.path.relpath(path)}:{line}: {msg}")

    def check(self):
        for path, body in self.m.files:
            for kind, name, labels, node, line in body_items(body):
                if kind == "attr":
                    self.err(path, line, f"unexpected top-level argument {name}")
                    continue
                if name not in TOP_BLOCKS:
                    self.err(path, line, f"unknown top-level block {name}")
                elif name in ("resource", "data", "ephemeral"):
                    self.check_typed(path, line, name, labels, node)
                elif name == "provider" and labels == ["aws"]:
                    self.check_body(path, block_body(node), self.s["provider"], "provider aws", meta=False, top=("provider", "aws"))
                elif name == "module":
                    self.check_module(path, line, labels[0], node)
                if name not in ("moved", "removed", "import"):  # these name addresses, not values
                    self.check_refs(path, node)
        return self.errors

    def check_typed(self, path, line, kind, labels, node):
        typ = labels[0]
        if kind == "ephemeral":
            twin = EPHEMERAL_TWINS.get(typ)
            schema = self.s["data"].get(twin) if twin else None
            if schema is None:
                self.err(path, line, f"unknown ephemeral resource type {typ} (not in provider {self.s['provider_version']} or not taught to EPHEMERAL_TWINS)")
                return
        else:
            schema = self.s["resource" if kind == "resource" else "data"].get(typ)
            if schema is None:
                what = "resource type" if kind == "resource" else "data source"
                self.err(path, line, f"unknown {what} {typ} in provider {self.s['provider_version']}")
                return
        self.check_body(path, block_body(node), schema, f"{typ}.{labels[1]}", meta=True, top=(typ,))

    def check_body(self, path, body, schema, where, meta, top):
        seen = {}
        present = set()
        for kind, name, labels, node, line in body_items(body):
            if kind == "attr":
                if name in seen:
                    self.err(path, line, f"{where}: argument {name} given twice (first on line {seen[name]})")
                    continue
                seen[name] = line
                if meta and name in META_ARGS:
                    continue
                if name in schema["args"]:
                    present.add(name)
                    dep = DEPRECATED.get((*top, name))
                    if dep and self.version >= dep[0]:
                        self.err(path, line, f"{where}: {name} is deprecated: {dep[1]}")
                elif name in schema["blocks"]:
                    self.err(path, line, f"{where}: {name} is a block, not an argument: write {name} {{ ... }}")
                elif name in schema.get("attrs", ()):
                    self.err(path, line, f"{where}: {name} is computed (read-only), it cannot be set")
                else:
                    self.err(path, line, f"{where}: unknown argument {name} (provider {self.s['provider_version']})")
            else:
                if meta and name in META_BLOCKS:
                    continue
                if name == "dynamic":
                    target = labels[0] if labels else "?"
                    sub = schema["blocks"].get(target)
                    if sub is None:
                        self.err(path, line, f"{where}: dynamic {target!r}: {target} is not a block here")
                        continue
                    present.add(target)
                    for k2, n2, _l2, content, ln2 in body_items(block_body(node)):
                        if k2 == "block" and n2 == "content":
                            self.check_body(path, block_body(content), sub["schema"], f"{where}.{target}", False, (*top, target))
                        elif k2 == "attr" and n2 not in ("for_each", "iterator", "labels"):
                            self.err(path, ln2, f"{where}: dynamic {target!r}: unknown argument {n2}")
                    continue
                if name in schema["blocks"]:
                    present.add(name)
                    self.check_body(path, block_body(node), schema["blocks"][name]["schema"], f"{where}.{name}", False, (*top, name))
                elif name in schema["args"]:
                    self.err(path, line, f"{where}: {name} is an argument, not a block: write {name} = ...")
                else:
                    self.err(path, line, f"{where}: unknown block {name} (provider {self.s['provider_version']})")
        for name, a in schema["args"].items():
            if a["required"] and name not in present and name != "id":
                self.err(path, Node.line(body), f"{where}: missing required argument {name}")
        for name, b in schema["blocks"].items():
            if b["required"] and name not in present:
                self.err(path, Node.line(body), f"{where}: missing required block {name}")

    def check_module(self, path, line, name, node):
        items = {n: (k, ln, nd) for k, n, _l, nd, ln in body_items(block_body(node))}
        src = items.get("source")
        if not src:
            self.err(path, line, f"module {name}: missing source")
            return
        m = re.search(r'"([^"]+)"', str(src[2]))
        source = m.group(1) if m else None
        if not source or not source.startswith("."):
            return
        target = os.path.normpath(os.path.join(os.path.dirname(path), source))
        callee = Module(sorted(glob.glob(os.path.join(target, "*.tf"))))
        for n, (k, ln, _nd) in items.items():
            if n in ("source", "version", "providers", "count", "for_each", "depends_on"):
                continue
            if n not in callee.declared["variable"]:
                self.err(path, ln, f"module {name}: {target} has no variable {n}")
        for var, has_default in callee.declared["variable"].items():
            if not has_default and var not in items:
                self.err(path, line, f"module {name}: missing required variable {var}")
        self.m.declared.setdefault("module_outputs", {})[name] = callee.declared["output"]

    def check_refs(self, path, node):
        for root, steps, line in chains(node):
            attrs = [s[1] for s in steps if s[0] == "attr"]
            line = line or Node.line(node)
            if root.startswith("aws_"):
                self.ref(path, line, "resource", root, steps)
            elif root in ("data", "ephemeral") and steps and steps[0][0] == "attr":
                self.ref(path, line, root, steps[0][1], steps[1:])
            elif root == "local" and attrs and attrs[0] not in self.m.declared["locals"]:
                self.err(path, line, f"reference local.{attrs[0]}: no such local value")
            elif root == "var" and attrs and attrs[0] not in self.m.declared["variable"]:
                self.err(path, line, f"reference var.{attrs[0]}: no such variable")
            elif root == "module" and attrs:
                if attrs[0] not in self.m.declared["module"]:
                    self.err(path, line, f"reference module.{attrs[0]}: no such module")
                else:
                    outs = self.m.declared.get("module_outputs", {}).get(attrs[0])
                    if outs is not None and len(attrs) > 1 and attrs[1] not in outs:
                        self.err(path, line, f"reference module.{attrs[0]}.{attrs[1]}: the module has no such output")

    def ref(self, path, line, kind, typ, steps):
        where = f"{'' if kind == 'resource' else kind + '.'}{typ}"
        if not steps or steps[0][0] != "attr":
            return
        name = steps[0][1]
        declared = self.m.declared[kind].get(typ, set())
        if name not in declared:
            self.err(path, line, f"reference {where}.{name}: no {kind} {typ} named {name} is declared")
            return
        if kind == "ephemeral":
            schema = self.s["data"].get(EPHEMERAL_TWINS.get(typ, ""), None)
        else:
            schema = self.s["resource" if kind == "resource" else "data"].get(typ)
        if schema is None:
            return
        rest = [s for s in steps[1:] if s[0] == "attr"]
        if not rest:
            return
        attr = rest[0][1]
        known = set(schema["args"]) | set(schema["blocks"]) | set(schema.get("attrs", ()))
        if attr not in known:
            self.err(path, line, f"reference {where}.{name}.{attr}: {typ} has no attribute {attr} (provider {self.s['provider_version']})")


def load_schemas(d):
    out = {}
    for p in glob.glob(os.path.join(d, "aws-*.json")):
        with open(p) as f:
            s = json.load(f)
        out[parse_version(s["provider_version"])] = s
    if not out:
        sys.exit(f"tfschema: no schemas in {d} (run.sh extracts them)")
    return out


def pick(schemas, at, floor):
    if at == "newest":
        return schemas[max(schemas)], "newest"
    want = parse_version(floor if at == "floor" else at)
    older = [v for v in schemas if v <= want]
    if not older:
        have = ", ".join(".".join(map(str, v)) for v in sorted(schemas))
        return None, f"no schema at or below {'.'.join(map(str, want))} ({at}); schemas available: {have}"
    return schemas[max(older)], at


def check_dirs(schemas, ats, dirs):
    errors, notes = [], []
    for d in dirs:
        paths = sorted(glob.glob(os.path.join(d, "*.tf")))
        module = Module(paths)
        floor = module.floor
        for at in ats:
            if at == "floor" and not floor:
                errors.append(f"{d}: versions: no lower bound (>=) on the aws provider, so no floor to validate")
                continue
            schema, label = pick(schemas, at, floor)
            if schema is None:
                errors.append(f"{d}: declared provider floor {floor}: {label}")
                continue
            found = Checker(schema, Module(paths), d).check()
            errors.extend(f"[aws {schema['provider_version']}] {e}" for e in found)
            notes.append(f"{os.path.relpath(d)} at {label} (floor {floor}) = aws {schema['provider_version']}: {len(found)} errors")
    return errors, notes


def selftest(schemas, cases_dir):
    failures, n = [], 0
    for path in sorted(glob.glob(os.path.join(cases_dir, "*.tf"))):
        with open(path) as f:
            text = f.read()
        expects = re.findall(r"#\s*expect:\s*(.+)", text)
        at = re.search(r"#\s*at:\s*(\S+)", text)
        schema, _ = pick(schemas, at.group(1) if at else "newest", None)
        errors = Checker(schema, Module([path]), cases_dir).check()
        n += 1
        for e in expects:
            if not any(e.strip() in x for x in errors):
                failures.append(f"{path}: expected an error containing {e.strip()!r}, got: {errors or 'none'}")
        if len(errors) != len(expects):
            failures.append(f"{path}: expected {len(expects)} errors, got {len(errors)}: {errors}")
    if not n:
        failures.append(f"{cases_dir}: no cases")
    return failures, n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("extract")
    e.add_argument("package")
    e.add_argument("out")
    c = sub.add_parser("check")
    c.add_argument("--schemas", required=True)
    c.add_argument("--at", action="append", required=True)
    c.add_argument("dirs", nargs="+")
    t = sub.add_parser("selftest")
    t.add_argument("--schemas", required=True)
    t.add_argument("cases")
    args = ap.parse_args()
    if args.cmd == "extract":
        extract(args.package, args.out)
    elif args.cmd == "check":
        errors, notes = check_dirs(load_schemas(args.schemas), args.at, args.dirs)
        for e in errors:
            print(f"tfschema: {e}", file=sys.stderr)
        if errors:
            sys.exit(1)
        print("tfschema: valid against the provider schema: " + "; ".join(notes))
    else:
        failures, n = selftest(load_schemas(args.schemas), args.cases)
        for f in failures:
            print(f"tfschema selftest: {f}", file=sys.stderr)
        if failures:
            sys.exit(1)
        print(f"tfschema selftest: {n} broken snippets, each refused with exactly the expected errors")


if __name__ == "__main__":
    main()
