#!/usr/bin/env python3
"""Trims a vendor's published OpenAPI description to the operations keyturn
calls (and the simulator serves), plus every schema they reference,
transitively. The output is what `tests/simulators/tests/openapi.rs` checks
the real adapters' requests and the simulator's answers against.

    python3 extract.py NAME FULL_SPEC          # writes NAME.json to ../shared/openapi (or $KEYTURN_OPENAPI_DIR)
    python3 extract.py --check NAME FULL_SPEC  # exits 1 if NAME.json differs

NAME is a key of SOURCES. FULL_SPEC is the file at SOURCES[NAME]'s repository,
commit and path (a checkout of that repository, or `git show COMMIT:PATH`);
its git blob id is checked first, so an excerpt is only ever made from the
file its header names. The full specs are not committed (several MB each).

Only the interface facts are kept: method, path, parameters (name, in,
required, schema), request and response schemas. Prose (description, summary,
examples, externalDocs, titles) and vendor extensions are dropped, except
`x-ms-enum-flags` (Graph's flag enums are comma-separated sets), which the
validator needs. Needs PyYAML for the YAML sources.
"""

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# The excerpts are derived from third-party files: they are kept in the
# steering repository's shared/ beside this checkout, not committed here.
OUT = os.environ.get("KEYTURN_OPENAPI_DIR") or os.path.normpath(os.path.join(HERE, "../../../../../shared/openapi"))

# What each excerpt is made from, and which operations it keeps. `rewrite`
# maps a path as the source spells it to the path the vendor serves (the
# reason is in `notes`).
SOURCES = {
    "graph": {
        "vendor": "Microsoft Graph v1.0",
        "repo": "microsoftgraph/msgraph-sdk-powershell",
        "commit": "f43aa05b3585171922fc830fa74aabcaea897679",
        "path": "openApiDocs/v1.0/Applications.yml",
        "blob": "2537c05534f122a4827e63a8c2e17ea2333ecb85",
        "file_changed": "e3955eca82d4b46be4bc63f9e63a59095c73da69 (2024-09-25, 'Weekly OpenApiDocs Download')",
        "notes": [
            "The Applications module of Microsoft's own Graph v1.0 OpenAPI description, as the PowerShell SDK "
            "downloads it weekly from microsoftgraph/msgraph-metadata (whose openapi/v1.0/openapi.yaml is the "
            "same description for all of Graph, too large to be had here).",
            "This variant spells bound actions namespace-qualified (`…/microsoft.graph.restart`); Graph "
            "accepts both forms and msgraph-metadata's openapi.yaml and the reference pages use the short one "
            "(`…/restart`), which keyturn calls: the excerpt's paths are the short form.",
            "Spot-checked on 2026-12-03 against the newest stored copy of the same file (commit "
            "02242be7aba44788d8fd0901c0dc7fba51d299b2): restart and validateCredentials unchanged.",
            "Not in this description: the identity platform's token endpoint "
            "(login.microsoftonline.com/{tenant}/oauth2/v2.0/token); see operations.json.",
        ],
        "operations": [
            ("put", "/servicePrincipals/{servicePrincipal-id}/synchronization/secrets"),
            ("post", "/servicePrincipals/{servicePrincipal-id}/synchronization/jobs/{synchronizationJob-id}/microsoft.graph.validateCredentials"),
            ("get", "/servicePrincipals/{servicePrincipal-id}/synchronization/jobs/{synchronizationJob-id}"),
            ("post", "/servicePrincipals/{servicePrincipal-id}/synchronization/jobs/{synchronizationJob-id}/microsoft.graph.restart"),
        ],
        "rewrite": [("/microsoft.graph.", "/")],
    },
    "okta": {
        "vendor": "Okta Management API",
        "repo": "okta/okta-management-openapi-spec",
        "commit": "fdda229e82940cf5af4611ad673ca6a27974e31b",
        "path": "dist/current/management-minimal.yaml",
        "blob": "edcc106f7e57994726fe05f3694f57e89e633c89",
        "file_changed": "5ef70f744c9db8260c4f8e867a99459a3651fed6 (2026-06-29, spec version 2026.06.3)",
        "notes": [
            "keyturn only reads the connection (GET). The POST is kept because the simulator serves it for "
            "Org2Org / Zscaler 2.0 apps, the only ones Okta documents it for (docs/vendors.md).",
            "getApiToken: `keyturn status` reads its own API token's `expiresAt` by the token's id. This "
            "description has no GET of `/api/v1/api-tokens/current` (only `revokeCurrentApiToken`, DELETE), so "
            "the id is kept beside the token in KEYTURN_OKTA_SECRET.",
        ],
        "operations": [
            ("get", "/api/v1/apps/{appId}/connections/default"),
            ("post", "/api/v1/apps/{appId}/connections/default"),
            ("get", "/api/v1/api-tokens/{apiTokenId}"),
        ],
        "rewrite": [],
    },
    "jira": {
        "vendor": "Jira Cloud platform REST API",
        "repo": "ballerina-platform/module-ballerinax-jira",
        "commit": "fac3bd9e1d695c9a2980abedfad3c134599b0de5",
        "path": "docs/spec/openapi.yaml",
        "blob": "347bdc5f211e86c51a7ee9a403565587257194d3",
        "file_changed": "c83565c5a49a1aaf7b5a8cb7395d0ff939501ebe (2025-06-27)",
        "notes": [
            "Atlassian's swagger-v3.v3.json (info.version 1001.0.0-SNAPSHOT-3c7b32e5e5b342f76f058c25245725788fa6e907) "
            "as the Ballerina connector keeps it (its docs/spec/sanitations.md lists its changes: none to these "
            "operations; it moved `/rest` from the paths into `servers`, undone here). Atlassian's own file is "
            "larger than the stored copies can hold.",
            "This is the v3 description; keyturn calls the v2 paths (/rest/api/2/…), which Atlassian documents as "
            "'the same collection of operations', v3 adding Atlassian Document Format for `description` and "
            "comment `body`. Both stay valid for v2's plain text here: `fields` is a free-form map and "
            "`Comment.body` has no type. The test maps /rest/api/2/ to these operations.",
        ],
        "operations": [
            ("post", "/api/3/issue"),
            ("post", "/api/3/issue/{issueIdOrKey}/comment"),
        ],
        "rewrite": [("/api/3/", "/rest/api/3/")],
    },
    "atlassian-scim": {
        "vendor": "Atlassian User provisioning (SCIM) REST API",
        "repo": "teamapis/user-provisioning",
        "commit": "d4bdd051215823ace0bebb71f4f626e00bc2c24f",
        "path": "schema-original.json",
        "blob": "126f305b17dc1b9ee405b04b9a6df0011dd72a7f",
        "file_changed": "00884909491bdd9902b28ddd54b4737bf5dd88d4 (2022-08-29)",
        "notes": [
            "An unofficial repository that keeps 'the original json file we downloaded from Atlassian' "
            "(developer.atlassian.com/cloud/admin/user-provisioning) as it changes; the newest copy found, "
            "from 2022-08. No OpenAPI description of Atlassian's API Access (org API keys) or Organizations "
            "API was found: those rows stay in operations.json.",
        ],
        "operations": [
            ("get", "/scim/directory/{directoryId}/Users"),
        ],
        "rewrite": [],
    },
}

DROP = {"description", "summary", "example", "examples", "externalDocs", "title", "tags", "style", "explode",
        "security", "deprecated"}
KEEP_EXTENSIONS = {"x-ms-enum-flags"}


def git_blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".json"):
        return data, json.loads(data)
    import yaml  # only the YAML sources need it

    class Loader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):
        pass

    # Atlassian's file holds a bare `=` (YAML's "value" tag); it is just text.
    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    return data, yaml.load(data, Loader=Loader)


def pointer(spec, ref):
    if not ref.startswith("#/"):
        raise SystemExit(f"external $ref not supported: {ref}")
    node = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def clean(node, in_properties=False):
    """Drops prose and extensions. Inside `properties` every key is a property
    name (Atlassian has one called `$ref`), so nothing there is dropped."""
    if isinstance(node, list):
        return [clean(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for k, v in node.items():
        if not in_properties and (k in DROP or (k.startswith("x-") and k not in KEEP_EXTENSIONS)):
            continue
        out[k] = clean(v, in_properties=(k == "properties" and not in_properties))
    return out


def schema_refs(node, in_properties=False):
    """Names of #/components/schemas/… referenced anywhere under `node`."""
    if isinstance(node, list):
        for v in node:
            yield from schema_refs(v)
    elif isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and not in_properties and isinstance(v, str):
                if v.startswith("#/components/schemas/"):
                    yield v[len("#/components/schemas/"):]
            else:
                yield from schema_refs(v, in_properties=(k == "properties" and not in_properties))


def resolve(spec, node):
    """Follows a $ref to a parameter, request body or response (inlined)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and not node["$ref"].startswith("#/components/schemas/"):
        node = pointer(spec, node["$ref"])
        seen += 1
        if seen > 10:
            raise SystemExit("reference loop")
    return node


def extract(name, spec):
    src = SOURCES[name]

    def rewrite(path):
        for old, new in src["rewrite"]:
            path = path.replace(old, new)
        return path

    ops = []
    for method, path in src["operations"]:
        item = spec["paths"][path]
        op = item[method]
        params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
        out = {
            "method": method.upper(),
            "path": rewrite(path),
            "operationId": op.get("operationId"),
            "parameters": [
                {"name": p["name"], "in": p["in"], "required": bool(p.get("required", False)),
                 "schema": clean(p.get("schema", {}))}
                for p in params
                if p["in"] in ("path", "query")
            ],
        }
        if "requestBody" in op:
            body = resolve(spec, op["requestBody"])
            out["requestBody"] = {
                "required": bool(body.get("required", False)),
                "content": {ct: clean(c.get("schema", {})) for ct, c in body.get("content", {}).items()},
            }
        out["responses"] = {}
        for status, resp in op.get("responses", {}).items():
            resp = resolve(spec, resp)
            out["responses"][str(status)] = {ct: clean(c.get("schema", {})) for ct, c in resp.get("content", {}).items()}
        ops.append(out)

    schemas = {}
    todo = sorted(set(schema_refs(ops)))
    while todo:
        n = todo.pop()
        if n in schemas:
            continue
        schemas[n] = clean(spec["components"]["schemas"][n])
        todo.extend(sorted(set(schema_refs(schemas[n])) - set(schemas)))
    return ops, dict(sorted(schemas.items()))


def main(argv):
    check = argv[:1] == ["--check"]
    if check:
        argv = argv[1:]
    if len(argv) != 2 or argv[0] not in SOURCES:
        raise SystemExit(f"usage: extract.py [--check] {{{'|'.join(SOURCES)}}} FULL_SPEC")
    name, path = argv
    src = SOURCES[name]
    data, spec = load(path)
    blob = git_blob_id(data)
    if blob != src["blob"]:
        raise SystemExit(f"{path} is blob {blob}, not {src['blob']} ({src['repo']}@{src['commit']}:{src['path']})")
    ops, schemas = extract(name, spec)
    doc = {
        "about": f"Trimmed excerpt of the {src['vendor']} OpenAPI description: the operations keyturn calls and the "
        "schemas they reference, prose and extensions removed. Made by extract.py from the source below; do not "
        "edit by hand.",
        "source": {
            "repo": src["repo"],
            "commit": src["commit"],
            "path": src["path"],
            "blob": src["blob"],
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_last_changed": src["file_changed"],
            "openapi": spec.get("openapi") or spec.get("swagger"),
            "extracted": "2026-12-03",
        },
        "notes": src["notes"],
        "operations": ops,
        "schemas": schemas,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    out = os.path.join(OUT, f"{name}.json")
    if check:
        with open(out, encoding="utf-8") as f:
            if f.read() != text:
                raise SystemExit(f"{out} differs from what {path} gives: run without --check")
        print(f"{out}: up to date ({len(ops)} operations, {len(schemas)} schemas)")
        return
    with open(out, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {out}: {len(ops)} operations, {len(schemas)} schemas, {len(text)} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
