#!/usr/bin/env python3
"""Holds keyturn's crates to their layers (part of `make lint`).

1. Crates: a core crate's Cargo.toml (any dependency table, dev and target
   ones included) names only the keyturn crates below it, as LAYERS says.
   A new crate under core/ must be given its place in LAYERS.
2. Modules: inside every crate of the workspace (each library, binary and
   src/bin/ root), the paths between top-level modules (`crate::m`,
   `super::m`, `crate::Name` re-exported from `m`, in `use` trees and in
   code) form no cycle. Code under `#[cfg(test)]` is left out: a test may
   use a sibling module's helpers; what ships may not loop.

Cycles known when this check was written are in KNOWN_CYCLES, each with why
it is still there. A cycle passes when a known one holds all its modules; a
known cycle that is gone fails too, so the list only shrinks.

Python standard library only. Rust is read after blanking comments and
string and char literals; `#[path]` attributes and macros that build paths
are not followed.

Usage: tests/layering.py [ROOT]     exit 1 on a violation
       tests/layering.py --selftest  exit 1 unless deliberately broken
                                     workspaces (in a temp dir) are caught
"""

import re
import sys
import tempfile
import tomllib
from pathlib import Path

# What each core crate may depend on (keyturn crates only).
LAYERS = {
    "keyturn-domain": set(),
    "keyturn-audit": {"keyturn-domain"},
    "keyturn-app": {"keyturn-domain"},
    "keyturn-vendors": {"keyturn-domain", "keyturn-app"},
    "keyturn-aws": {"keyturn-domain", "keyturn-app", "keyturn-audit", "keyturn-vendors"},
}

# (crate root, the cycle's modules) -> why it is still there. Remove an entry
# when its cycle is gone (the check says so); never add one to get past it.
KNOWN_CYCLES: dict[tuple[str, frozenset], str] = {}

DEP_TABLES = ("dependencies", "dev-dependencies", "build-dependencies")


# ---- crates -------------------------------------------------------------------


def workspace(root: Path) -> dict[str, Path]:
    """Package name -> directory of every workspace member."""
    members = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]["members"]
    out = {}
    for m in members:
        for d in sorted(root.glob(m)):
            manifest = d / "Cargo.toml"
            if manifest.is_file():
                out[tomllib.loads(manifest.read_text())["package"]["name"]] = d
    return out


def dependencies(manifest: dict, aliases: dict[str, str]) -> set[str]:
    """Package names of every dependency, in every table (target ones too)."""
    tables = [manifest.get(t, {}) for t in DEP_TABLES]
    for target in manifest.get("target", {}).values():
        tables += [target.get(t, {}) for t in DEP_TABLES]
    names = set()
    for table in tables:
        for key, spec in table.items():
            package = spec.get("package") if isinstance(spec, dict) else None
            if package is None and isinstance(spec, dict) and spec.get("workspace"):
                package = aliases.get(key)
            names.add(package or key)
    return names


def check_crates(root: Path, layers: dict[str, set[str]]) -> list[str]:
    members = workspace(root)
    ws_deps = tomllib.loads((root / "Cargo.toml").read_text())["workspace"].get("dependencies", {})
    aliases = {k: (v.get("package", k) if isinstance(v, dict) else k) for k, v in ws_deps.items()}
    problems = []
    for name, d in sorted(members.items()):
        rel = d.relative_to(root)
        if rel.parts[0] == "core" and name not in layers:
            problems.append(f"{rel}/Cargo.toml: core crate {name} has no place in LAYERS (tests/layering.py)")
        if name not in layers:
            continue
        manifest = tomllib.loads((d / "Cargo.toml").read_text())
        for dep in sorted(dependencies(manifest, aliases) & set(members)):
            # A dev-dependency on itself turns on the crate's own test
            # features (keyturn-app's testkit for its integration tests).
            if dep == name:
                continue
            if dep not in layers[name]:
                allowed = ", ".join(sorted(layers[name])) or "no keyturn crate"
                problems.append(f"{rel}/Cargo.toml: {name} depends on {dep}; it may depend on {allowed}")
    return problems


# ---- modules ------------------------------------------------------------------


def blank(text: str) -> str:
    """Comments, strings and char literals as spaces (line breaks kept)."""
    out, i, n = [], 0, len(text)

    def keep(s):
        return re.sub(r"[^\n]", " ", s)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(keep(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(keep(text[i:j]))
            i = j
        elif (m := RAW.match(text, i)) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            j = n if j < 0 else j + len(close)
            out.append(keep(text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(keep(text[i : j + 1]))
            i = j + 1
        elif c == "'":
            # A char literal ('x', '\n', '\u{1F600}'), or a lifetime ('a).
            if i + 1 < n and text[i + 1] == "\\":
                j = text.find("'", i + 2)
                j = n if j < 0 else j + 1
            elif i + 2 < n and text[i + 2] == "'":
                j = i + 3
            else:
                j = i + 1
            out.append(keep(text[i:j]) if j > i + 1 else c)
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


RAW = re.compile(r'b?r(#*)"')
CFG_TEST = re.compile(r"#\s*\[\s*cfg\s*\(\s*test\s*\)\s*\]")
ATTR = re.compile(r"#\s*!?\s*\[")
MOD = re.compile(r"\b(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(\w+)\s*([;{])")
USE = re.compile(r"\buse\s+([^;]+);")
PATH = re.compile(r"(?<![\w$])(crate|super|self)((?:\s*::\s*(?:\w+))+)")
PUB_USE = re.compile(r"\bpub(?:\s*\([^)]*\))?\s+use\s+([^;]+);")


def matching(text: str, i: int, open_: str, close: str) -> int:
    """Index just after the bracket that closes the one at `i`."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_:
            depth += 1
        elif text[j] == close:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def test_spans(text: str) -> list[tuple[int, int]]:
    """Where `#[cfg(test)]` items are: the attribute to the item's end."""
    spans = []
    for m in CFG_TEST.finditer(text):
        j = m.end()
        while True:
            k = j + len(text[j:]) - len(text[j:].lstrip())
            if not ATTR.match(text, k):
                break
            j = matching(text, text.index("[", k), "[", "]")
        rest = text[j:].lstrip()
        start = len(text) - len(rest)
        if re.match(r"(?:pub(?:\s*\([^)]*\))?\s+)?use\b", rest):
            end = text.find(";", start) + 1
        else:
            semi, brace = text.find(";", start), text.find("{", start)
            if brace >= 0 and (semi < 0 or brace < semi):
                end = matching(text, brace, "{", "}")
            else:
                end = semi + 1
        spans.append((m.start(), end if end > 0 else len(text)))
    return spans


def use_paths(tree: str) -> list[list[str]]:
    """The paths a use tree names: `a::{b, c::{d as e}}` -> a::b, a::c::d."""
    tree = re.sub(r"\s*(::|[{},])\s*", r"\1", tree.strip())
    out = []

    def walk(prefix: list[str], t: str):
        t = t.strip()
        if not t:
            return
        brace = t.find("{")
        if brace >= 0:
            base = prefix + [s for s in t[:brace].split("::") if s]
            body = t[brace + 1 : t.rfind("}")]
            depth = start = 0
            for k, ch in enumerate(body + ","):
                if ch == "{":
                    depth += 1
                elif ch == "}":
                    depth -= 1
                elif ch == "," and depth == 0:
                    walk(base, body[start:k])
                    start = k + 1
            return
        out.append(prefix + [s for s in t.split(" as ")[0].strip().split("::") if s])

    walk([], tree)
    return out


def inline_mods(text: str) -> list[tuple[str, int, int]]:
    """Every inline `mod x { ... }`: its name and the span of its body."""
    return [(m.group(1), m.end() - 1, matching(text, m.end() - 1, "{", "}")) for m in MOD.finditer(text) if m.group(2) == "{"]


def enclosing(mods: list[tuple[str, int, int]], pos: int) -> list[str]:
    """The inline modules around `pos`, outermost first."""
    return [name for name, start, end in mods if start < pos < end]


class Crate:
    """One crate root's module tree, its top-level modules and their edges."""

    def __init__(self, root_file: Path, repo: Path):
        self.root_file, self.repo = root_file, repo
        self.top: set[str] = set()
        self.reexports: dict[str, str] = {}
        # (from, to) -> first place seen.
        self.edges: dict[tuple[str, str], str] = {}
        self.files: list[tuple[Path, list[str], bool, str]] = []
        self._load(root_file, [], False, is_mod_rs=True)
        self._resolve()

    def _load(self, f: Path, modpath: list[str], test: bool, is_mod_rs: bool):
        if not f.is_file():
            return
        text = blank(f.read_text())
        self.files.append((f, modpath, test, text))
        tests = test_spans(text)
        mods = inline_mods(text)
        here = f.parent if is_mod_rs else f.parent / f.stem
        for m in MOD.finditer(text):
            inline = enclosing(mods, m.start())
            in_test = test or any(a <= m.start() < b for a, b in tests)
            if m.group(2) == ";":
                name = m.group(1)
                d = here.joinpath(*inline)
                sub = modpath + inline + [name]
                if not modpath and not inline:
                    self.top.add(name)
                for cand, mod_rs in ((d / f"{name}.rs", False), (d / name / "mod.rs", True)):
                    if cand.is_file():
                        self._load(cand, sub, in_test, mod_rs)
                        break
            elif not modpath and not inline:
                self.top.add(m.group(1))
        if not modpath:
            for m in PUB_USE.finditer(text):
                for p in use_paths(m.group(1)):
                    if len(p) >= 2 and p[0] in self.top:
                        self.reexports[self._alias(m.group(1), p)] = p[0]

    @staticmethod
    def _alias(tree: str, path: list[str]) -> str:
        last = path[-1]
        found = re.search(rf"\b{re.escape(last)}\s+as\s+(\w+)", tree)
        return found.group(1) if found else last

    def _target(self, cur: list[str], path: list[str]) -> str | None:
        if not path or path[0] not in ("crate", "super", "self"):
            return None
        base, rest = list(cur), list(path)
        if rest[0] == "crate":
            base, rest = [], rest[1:]
        elif rest[0] == "self":
            rest = rest[1:]
        while rest and rest[0] == "super":
            if not base:
                return None
            base, rest = base[:-1], rest[1:]
        if base:
            return base[0]
        if not rest:
            return None
        if rest[0] in self.top:
            return rest[0]
        return self.reexports.get(rest[0])

    def _resolve(self):
        for f, modpath, test, text in self.files:
            if not modpath:
                continue
            tests = test_spans(text)
            mods = inline_mods(text)
            for m, paths in self._paths(text):
                if test or any(a <= m.start() < b for a, b in tests):
                    continue
                cur = modpath + enclosing(mods, m.start())
                for p in paths:
                    to = self._target(cur, p)
                    if to and to != modpath[0]:
                        line = text.count("\n", 0, m.start()) + 1
                        where = f"{f.relative_to(self.repo)}:{line} ({'::'.join(p)})"
                        self.edges.setdefault((modpath[0], to), where)

    @staticmethod
    def _paths(text: str):
        for m in USE.finditer(text):
            yield m, use_paths(m.group(1))
        for m in PATH.finditer(text):
            yield m, [[m.group(1)] + [s.strip() for s in m.group(2).split("::") if s.strip()]]

    def cycles(self) -> list[list[str]]:
        """Strongly connected components of more than one module, each as
        one cycle through all of them (sorted, for stable output)."""
        graph: dict[str, set[str]] = {}
        for a, b in self.edges:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
        index, low, stack, on, comps = {}, {}, [], set(), []

        def strong(v):
            index[v] = low[v] = len(index)
            stack.append(v)
            on.add(v)
            for w in sorted(graph[v]):
                if w not in index:
                    strong(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))

        for v in sorted(graph):
            if v not in index:
                strong(v)
        return sorted(comps)

    def report(self, comp: list[str]) -> list[str]:
        """Every edge inside a cycle, with where it was seen."""
        inside = set(comp)
        return [f"    {a} -> {b}: {where}" for (a, b), where in sorted(self.edges.items()) if a in inside and b in inside]


def crate_roots(member: Path) -> list[Path]:
    roots = [member / "src" / f for f in ("lib.rs", "main.rs") if (member / "src" / f).is_file()]
    roots += sorted((member / "src" / "bin").glob("*.rs"))
    manifest = tomllib.loads((member / "Cargo.toml").read_text())
    for b in manifest.get("bin", []):
        if "path" in b and (member / b["path"]).is_file() and (member / b["path"]) not in roots:
            roots.append(member / b["path"])
    return roots


def check_modules(root: Path, known: dict) -> tuple[list[str], list[str]]:
    """Problems, and the known cycles still there (for the summary). A cycle
    passes when a known one holds all its modules (one that shrank passes,
    and says so); a known cycle no current one falls within is a problem."""
    problems, still, used = [], [], set()
    for name, d in sorted(workspace(root).items()):
        for r in crate_roots(d):
            crate = Crate(r, root)
            label = str(r.relative_to(root))
            for comp in crate.cycles():
                head = f"{label} ({name}): module cycle among {', '.join(comp)}"
                key = next((k for k in known if k[0] == label and set(comp) <= k[1]), None)
                if key is None:
                    problems.append("\n".join([head] + crate.report(comp)))
                    continue
                used.add(key)
                shrank = "" if set(comp) == key[1] else f"; it shrank from {', '.join(sorted(key[1]))}: tighten KNOWN_CYCLES"
                still.append(f"{head} [known: {known[key]}{shrank}]")
    for key, why in known.items():
        if key not in used:
            problems.append(f"{key[0]}: known cycle among {', '.join(sorted(key[1]))} is gone: remove it from KNOWN_CYCLES ({why})")
    return problems, still


def check(root: Path, layers=LAYERS, known=KNOWN_CYCLES) -> tuple[list[str], list[str]]:
    crates = check_crates(root, layers)
    modules, still = check_modules(root, known)
    return crates + modules, still


# ---- self-test -----------------------------------------------------------------


def make(root: Path, files: dict[str, str]):
    base = {
        "Cargo.toml": '[workspace]\nmembers = ["core/domain", "core/app"]\n'
        '[workspace.dependencies]\nkeyturn-domain = { path = "core/domain" }\nkeyturn-app = { path = "core/app" }\n',
        "core/domain/Cargo.toml": '[package]\nname = "keyturn-domain"\n',
        "core/domain/src/lib.rs": "pub mod a;\n",
        "core/domain/src/a.rs": "pub struct A;\n",
        "core/app/Cargo.toml": '[package]\nname = "keyturn-app"\n[dependencies]\nkeyturn-domain.workspace = true\n',
        "core/app/src/lib.rs": "mod a;\nmod b;\npub use b::Thing;\n",
        "core/app/src/a.rs": "use crate::b::Thing;\npub fn f(_: Thing) {}\n",
        "core/app/src/b.rs": "pub struct Thing;\n",
    }
    base.update(files)
    for rel, text in base.items():
        if text is None:
            continue
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def selftest() -> int:
    cases = [
        # (what, files over the good workspace, text every problem list must contain, or None for no problem)
        ("the good workspace passes", {}, None),
        (
            "a core crate depending on one above it",
            {"core/domain/Cargo.toml": '[package]\nname = "keyturn-domain"\n[dependencies]\nkeyturn-app.workspace = true\n'},
            "keyturn-domain depends on keyturn-app",
        ),
        (
            "the same as a renamed target dev-dependency",
            {
                "core/domain/Cargo.toml": '[package]\nname = "keyturn-domain"\n'
                "[target.'cfg(unix)'.dev-dependencies]\n"
                'app = { package = "keyturn-app", path = "../app" }\n'
            },
            "keyturn-domain depends on keyturn-app",
        ),
        ("a core crate without a layer", {"Cargo.toml": None, **_extra_crate()}, "has no place in LAYERS"),
        (
            "a two-way cycle through super:: and an inline path",
            {"core/app/src/b.rs": "pub struct Thing;\nfn g() { super::a::f(Thing) }\n"},
            "module cycle among a, b",
        ),
        (
            "a cycle through a nested use tree and a root re-export",
            {
                "core/app/src/lib.rs": "mod a;\nmod b;\nmod c;\npub use b::Thing;\npub use c::{Other as Renamed};\n",
                "core/app/src/b.rs": "use crate::{c::{self}};\npub struct Thing;\n",
                "core/app/src/c.rs": "pub struct Other;\nuse crate::Renamed as _R;\nfn h(_: crate::Thing) {}\n",
                "core/app/src/a.rs": "use crate::Thing;\nuse crate::Renamed;\n",
            },
            "module cycle among b, c",
        ),
        (
            "a cycle in a module directory's child file",
            {
                "core/app/src/lib.rs": "mod a;\nmod b;\n",
                "core/app/src/b.rs": None,
                "core/app/src/b/mod.rs": "mod inner;\npub struct Thing;\n",
                "core/app/src/b/inner.rs": "fn k() { let _ = super::super::a::f; }\n",
            },
            "module cycle among a, b",
        ),
        (
            "test code, comments and strings do not count",
            {
                "core/app/src/b.rs": "pub struct Thing;\n// use crate::a;\n/* crate::a::f /* nested */ */\n"
                'const S: &str = "crate::a::f";\nconst R: &str = r#"use crate::a;"#;\n'
                "fn l<'x>(_: &'x u8) -> char { '\"' }\n"
                "#[cfg(test)]\nmod tests {\n    use crate::a::f;\n    fn t() { super::super::a::f(super::Thing) }\n}\n"
                "#[cfg(test)]\nuse crate::a as _a;\n",
            },
            None,
        ),
        (
            "a test-only module file does not count",
            {
                "core/app/src/lib.rs": "mod a;\nmod b;\n#[cfg(test)]\nmod fixtures;\npub use b::Thing;\n",
                "core/app/src/b.rs": "pub struct Thing;\n",
                "core/app/src/fixtures.rs": "use crate::a::f;\nuse crate::b::Thing;\n",
            },
            None,
        ),
    ]
    # Known cycles: one still there passes; one that grew, or is gone, fails.
    known = {("core/app/src/lib.rs", frozenset({"a", "b"})): "test"}
    grown = {
        "core/app/src/lib.rs": "mod a;\nmod b;\nmod c;\n",
        "core/app/src/b.rs": "pub struct Thing;\nuse crate::c::g;\n",
        "core/app/src/c.rs": "pub fn g() { crate::a::f }\n",
    }
    cases += [
        ("a known cycle passes", {"core/app/src/b.rs": "pub struct Thing;\nuse crate::a::f;\n"}, None, known),
        ("a known cycle that grew", grown, "module cycle among a, b, c", known),
        ("a known cycle that is gone", {}, "is gone", known),
    ]
    failed = 0
    for what, files, expect, *given in cases:
        with tempfile.TemporaryDirectory() as tmp:
            make(Path(tmp), files)
            problems, _ = check(Path(tmp), LAYERS, given[0] if given else {})
        text = "\n".join(problems)
        if not ((not problems) if expect is None else (expect in text)):
            print(f"layering selftest: not caught: {what}: {text or 'no problem found'}", file=sys.stderr)
            failed += 1
    print(f"layering selftest: {len(cases) - failed} of {len(cases)} cases as expected")
    return 1 if failed else 0


def _extra_crate() -> dict[str, str]:
    return {
        "Cargo.toml": '[workspace]\nmembers = ["core/domain", "core/app", "core/extra"]\n'
        '[workspace.dependencies]\nkeyturn-domain = { path = "core/domain" }\nkeyturn-app = { path = "core/app" }\n',
        "core/extra/Cargo.toml": '[package]\nname = "keyturn-extra"\n',
        "core/extra/src/lib.rs": "",
    }


def main(argv: list[str]) -> int:
    if argv[1:] == ["--selftest"]:
        return selftest()
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    problems, still = check(root)
    for s in still:
        print(f"layering: {s}")
    for p in problems:
        print(f"layering: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"layering: ok (core crates within LAYERS; no module cycle{' beyond the known ones' if still else ''})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
