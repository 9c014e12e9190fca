#!/usr/bin/env python3
"""Checks that the documentation can be followed.

    python3 scripts/check-docs.py

- every relative link in README.md, RELIABILITY.md, BENCHMARKS.md and
  docs/*.md resolves (the file, and the heading for a #fragment into a
  Markdown file);
- every path written in inline code that names a repository path exists:
  one that starts with a top-level entry of the repository
  (`shared/src/lib.rs`, `schemas/`, `template.yaml`) from the root, and a
  shorter one that starts with a folder of the repository
  (`egress/envelope.rs`, written within `shared/src`) as the end of some
  repository path; a bare file name (`e2e.rs::a_test`, `manifest.json`) as
  the name of some repository file. Paths that git ignores (`fuzz/corpus/`, built output),
  placeholders (`<stack>`, `…`, `*`, `$PORT`) and the example vendor of
  docs/contributing.md (`acme`), whose files are to be written, are skipped;
- no document names a path outside the repository: no link that leaves it,
  no inline code that starts with `../` (repository paths are written from
  its root), no `../` in prose that leaves it (or names nothing);
- every Rust path written in code that starts with a workspace crate's
  library name (each member's Cargo.toml: `[lib] name`, else the package
  name with `-` as `_`) names something public in that crate: in inline
  code, anywhere in the span (`SqsEventObj<intake_queue::Event>`); in
  ```rust blocks, the `use` lines and what they import used with a path
  (`Event::from_json`). The rule, a static reading of the crate's src/
  from its lib.rs (comments and strings left out, `cfg` ignored, so the
  `testing` items count):
  - each segment is declared `pub` (not `pub(crate)`) in the module
    reached so far: a `pub mod` (inline, name.rs or name/mod.rs), a
    `pub use` (renames and `*` globs followed; its target need only exist
    inside the crate), or a `pub` item;
  - after a type: an enum's variant, a trait's item, or a `pub` method or
    associated item of an `impl` of it anywhere in the crate (any item of
    a trait's impl);
  - an item a macro declares (`providers!`, `open_enum!`) is declared; a
    segment after it must be a word of the source that declares it.
  A path into the example vendor is skipped; one that starts with a
  member's folder where the crate is named otherwise (`shared::handle`;
  not a folder that is also a module's name, as `tests`) is reported;
- docs/README.md, the index, links every document in docs/;
- every `make` command written in code (inline or in a block) names a target
  that `make help` lists (a target with a `##` description). Not `make -n`:
  GNU make runs a recipe line that calls $(MAKE) even in a dry run, and
  `make -n test` would run the fuzzer.

Exits non-zero, listing every failure.
"""
import functools
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
PATH = re.compile(r"[\w.][\w.+-]*(?:/[\w.+-]+)*/?")
# Marks a span as a placeholder or a pattern, not a path to check.
PLACEHOLDER = re.compile(r"[<>…*$={}|\[\]]")
# docs/contributing.md's example vendor: its files are the ones to write.
EXAMPLE_VENDOR = "acme"
PARENT = re.compile(r"(?<![\w/.])\.\./[^\s)`'\"]*?(?=[.,;:]?(?:\s|$|[)`'\"]))")
MAKE = re.compile(r"(?<![\w/.-])make ((?:[A-Z_]+=\S+ )*)([a-z][a-z0-9-]*)((?: [A-Z_]+=[^\s`]*)*)")


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    with open(path) as f:
        return {slug(line.lstrip("#")) for line in f if line.startswith("#")}


@functools.lru_cache(maxsize=None)
def tracked():
    """The repository's files, as git knows them (with the working tree's
    new files, so that a path added and not yet committed counts)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    return [path for path in listed if os.path.exists(path)]


@functools.lru_cache(maxsize=None)
def folders():
    """(top-level entries, every folder name) of the repository."""
    top, names = set(), set()
    for path in tracked():
        parts = path.split("/")
        top.add(parts[0])
        names.update(parts[:-1])
    return top, names


def ignored(path):
    return subprocess.run(["git", "check-ignore", "-q", path]).returncode == 0


def outside(path, base):
    """Whether `path`, read from the folder `base`, leaves the repository."""
    return os.path.normpath(os.path.join(base, path)).split(os.sep)[0] == ".."


def check_path(span):
    """Inline code `span` read as a repository path: (whether it is one,
    what is wrong with it or None)."""
    # A test or an item in a file (`e2e.rs::name`), or a line (`lib.rs:12`).
    span = re.sub(r"(?<=\.rs)(::\w+)+$|:\d+$", "", span.strip())
    if span.startswith("../"):
        return True, "names a path outside the repository"
    if PLACEHOLDER.search(span) or not PATH.fullmatch(span):
        return False, None
    parts = span.rstrip("/").split("/")
    if any(part.split(".")[0] == EXAMPLE_VENDOR for part in parts):
        return False, None
    top, names = folders()
    if parts[0] in top:
        if os.path.exists(span) or ignored(span):
            return True, None
        return True, "no such path in the repository"
    if len(parts) == 1 and re.fullmatch(r"[\w.-]+\.(rs|py|md|json|toml|yaml|yml|lock|txt|sh)", span):
        if any(path.rsplit("/", 1)[-1] == span for path in tracked()):
            return True, None
        return True, "no repository file has this name"
    if len(parts) > 1 and parts[0] in names and "." not in parts[0]:
        tail = "/" + span.rstrip("/")
        for path in tracked():
            path = "/" + path
            if path.endswith(tail) or tail + "/" in path:
                return True, None
        return True, "no repository path ends with it"
    return False, None


# ---------------------------------------------------------------------------
# Exported names: a backticked path that starts with a workspace crate's
# library name must name something public in that crate.

FENCE = re.compile(r"```rust[^\n]*\n(.*?)```", re.S)
USE = re.compile(r"\buse\s+([^;]+);")
IDENT = r"[A-Za-z_]\w*"
RAW_STRING = re.compile(r'b?r(#*)"')
# A char literal, not a lifetime ('a').
CHAR = re.compile(r"'(?:\\u\{[0-9a-fA-F]+\}|\\.|[^\\'\n])'")


def strip_rust(src):
    """Rust source with comments removed and string and char literals
    emptied, so that braces and keywords can be counted."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if src.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif src.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            out.append(" ")
        elif (m := RAW_STRING.match(src, i)) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            end = src.find('"' + m.group(1), m.end())
            i = n if end < 0 else end + 1 + len(m.group(1))
            out.append('""')
        elif c == '"' or (c == "b" and src.startswith('b"', i) and not (i and (src[i - 1].isalnum() or src[i - 1] == "_"))):
            i += 2 if c == "b" else 1
            while i < n and src[i] != '"':
                i += 2 if src[i] == "\\" else 1
            i += 1
            out.append('""')
        elif c == "'" and (m := CHAR.match(src, i)):
            i = m.end()
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def closing(text, start):
    """The index of the bracket that closes the one at `start`."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    stack = []
    for i in range(start, len(text)):
        if text[i] in pairs:
            stack.append(pairs[text[i]])
        elif stack and text[i] == stack[-1]:
            stack.pop()
            if not stack:
                return i
    return len(text) - 1


def top_level(body):
    """`body` with every bracketed part blanked out (kept: the brackets),
    so that a regex only sees the declarations at this level."""
    out, depth = [], 0
    for c in body:
        if c in "{([":
            out.append(c if depth == 0 else " ")
            depth += 1
        elif c in "})]":
            depth -= 1
            out.append(c if depth == 0 else " ")
        else:
            out.append(c if depth == 0 else (c if c == "\n" else " "))
    return "".join(out)


def use_tree(tree, prefix=()):
    """(alias, path segments) for each name a `use` tree brings in; the
    alias `*` for a glob."""
    tree = tree.strip()
    if tree.startswith("::"):
        tree = tree[2:]
    depth, split = 0, None
    for i, c in enumerate(tree):
        depth += c == "{"
        depth -= c == "}"
        if c == "{" and depth == 1 and split is None:
            split = i
    if split is not None:
        head = [s for s in tree[:split].strip().rstrip(":").split("::") if s.strip()]
        inner = tree[split + 1:tree.rindex("}")]
        parts, depth, last = [], 0, 0
        for i, c in enumerate(inner):
            depth += c == "{"
            depth -= c == "}"
            if c == "," and depth == 0:
                parts.append(inner[last:i])
                last = i + 1
        parts.append(inner[last:])
        found = []
        for part in parts:
            if part.strip():
                found += use_tree(part, prefix + tuple(s.strip() for s in head))
        return found
    alias = None
    if re.search(r"\s+as\s+", tree):
        tree, alias = re.split(r"\s+as\s+", tree)
        alias = alias.strip()
    segments = prefix + tuple(s.strip() for s in tree.split("::"))
    if segments[-1] == "self":
        segments = segments[:-1]
    if segments[-1] == "*":
        return [("*", segments[:-1])]
    return [(alias or segments[-1], segments)]


class Module:
    """A module of a crate: its public and private names."""

    def __init__(self, crate, parent, folder, body):
        self.crate, self.parent, self.folder = crate, parent, folder
        self.items = {}   # name → [(public, kind, payload)]
        self.globs = []   # (public, segments)
        self.parse(body)

    def add(self, name, public, kind, payload=None):
        self.items.setdefault(name, []).append((public, kind, payload))

    def parse(self, body):
        flat = top_level(body)
        vis = r"(?P<vis>pub\s*(?:\([^)]*\))?\s*)?"
        for m in re.finditer(r"(?<![\w$])" + vis + r"mod\s+(?P<name>" + IDENT + r")\s*(?P<end>[;{])", flat):
            public = bool(m.group("vis")) and "(" not in m.group("vis")
            name = m.group("name")
            if m.group("end") == "{":
                inner = body[m.end():closing(body, m.end() - 1)]
                self.add(name, public, "mod", ("inline", os.path.join(self.folder, name), inner))
            else:
                for path in (os.path.join(self.folder, name + ".rs"), os.path.join(self.folder, name, "mod.rs")):
                    if os.path.exists(path):
                        self.add(name, public, "mod", ("file", os.path.join(self.folder, name), path))
                        break
        for m in re.finditer(r"(?<![\w$])" + vis + r"use\s+([^;]+);", flat):
            public = bool(m.group("vis")) and "(" not in m.group("vis")
            text = body[m.start(2):m.end(2)]
            for alias, segments in use_tree(text):
                if alias == "*":
                    self.globs.append((public, segments))
                elif alias != "_":
                    self.add(alias, public, "use", segments)
        kinds = r"(?P<kind>(?:(?:const|async|unsafe|extern(?:\s*\"\")?)\s+)*fn|struct|enum|trait|type|union|const|static(?:\s+mut)?)"
        for m in re.finditer(r"(?<![\w$])" + vis + kinds + r"\s+(?P<name>" + IDENT + r")", flat):
            public = bool(m.group("vis")) and "(" not in m.group("vis")
            kind = m.group("kind").split()[-1]
            payload = None
            if kind in ("enum", "trait"):
                brace = flat.find("{", m.end())
                if brace >= 0:
                    payload = body[brace + 1:closing(body, brace)]
            self.add(m.group("name"), public, kind, payload)
        # Items a macro declares here: `pub enum Name` written in the body of
        # a `macro_rules!` of this module, or the `Name { … }` given to a
        # macro of the crate whose body declares `pub enum $name`.
        for m in re.finditer(r"macro_rules!\s*(" + IDENT + r")\s*[{(\[]", flat):
            text = body[m.end():closing(body, m.end() - 1)]
            for d in re.finditer(r"\bpub\s+(?:struct|enum|trait|type|fn|const|static)\s+(" + IDENT + ")", text):
                self.add(d.group(1), True, "macro item", body)
        for m in re.finditer(r"(?<![\w$!])(" + IDENT + r")!\s*[{(\[]", flat):
            if m.group(1) in self.crate.declaring_macros:
                text = body[m.end():closing(body, m.end() - 1)]
                for d in re.finditer(r"(" + IDENT + r")\s*\{", top_level(text)):
                    self.add(d.group(1), True, "macro item", body + self.crate.declaring_macros[m.group(1)])

class Crate:
    """A workspace library crate, read from its src/."""

    def __init__(self, name, root_file):
        self.name, self.root_file = name, root_file
        self.sources = {}
        for path in glob.glob(os.path.join(os.path.dirname(root_file), "**", "*.rs"), recursive=True):
            with open(path) as f:
                self.sources[path] = strip_rust(f.read())
        # Macros whose body declares a public item named by an argument.
        self.declaring_macros = {}
        for text in self.sources.values():
            for m in re.finditer(r"macro_rules!\s*(" + IDENT + r")\s*[{(\[]", text):
                body = text[m.end():closing(text, m.end() - 1)]
                if re.search(r"\bpub\s+(?:struct|enum|trait|type)\s+\$", body):
                    self.declaring_macros[m.group(1)] = body
        # Methods and associated items, by the name of the type they are on:
        # `pub` ones of an inherent impl, every one of a trait's impl.
        self.associated = {}
        for text in self.sources.values():
            for m in re.finditer(r"(?<![\w$])impl\b", text):
                brace = text.find("{", m.end())
                semi = text.find(";", m.end())
                if brace < 0 or (0 <= semi < brace):
                    continue
                header = text[m.end():brace]
                header = re.sub(r"^\s*<", "<", header)
                if header.startswith("<"):
                    depth = 0
                    for i, c in enumerate(header):
                        depth += (c == "<") - (c == ">")
                        if depth == 0:
                            header = header[i + 1:]
                            break
                header = re.split(r"\bwhere\b", header)[0]
                is_trait = bool(re.search(r"\bfor\b", header))
                header = re.split(r"\bfor\b", header)[-1]
                name = re.split(r"[<\s]", header.strip())[0].split("::")[-1]
                inner = top_level(text[brace + 1:closing(text, brace)])
                for d in re.finditer(r"(?P<vis>pub\s*(?:\([^)]*\))?\s*)?(?:(?:const|async|unsafe)\s+)*(?:fn|const|type)\s+(" + IDENT + ")", inner):
                    public = is_trait or (bool(d.group("vis")) and "(" not in d.group("vis"))
                    self.associated.setdefault(name, {})
                    self.associated[name][d.group(2)] = self.associated[name].get(d.group(2), False) or public
        self.modules = {}
        self.root = self.module(("file", os.path.dirname(root_file), root_file), None)

    def module(self, payload, parent):
        key = payload[1] if payload[0] == "inline" else payload[2]
        if key not in self.modules:
            if payload[0] == "inline":
                body = payload[2]
            else:
                body = self.sources.get(payload[2]) or strip_rust(open(payload[2]).read())
            self.modules[key] = None  # a cycle resolves to nothing
            self.modules[key] = Module(self, parent, payload[1], body)
        return self.modules[key]


@functools.lru_cache(maxsize=None)
def crates():
    """{library name: Crate} for the workspace's members that have a
    library, and {folder name: library name} for the members whose folder is
    not named as their crate (and is no module's name)."""
    with open("Cargo.toml") as f:
        manifest = f.read()
    members = re.findall(r'"([^"]+)"', re.search(r"^members\s*=\s*\[([^\]]*)\]", manifest, re.M).group(1))
    found, folders_named = {}, {}
    for member in members:
        with open(os.path.join(member, "Cargo.toml")) as f:
            text = f.read()
        sections = dict(re.findall(r"^\[(\w+)\]\n((?:(?!\[).*\n?)*)", text, re.M))
        package = re.search(r'^name\s*=\s*"([^"]+)"', sections.get("package", ""), re.M).group(1)
        lib = sections.get("lib", "")
        name = re.search(r'^name\s*=\s*"([^"]+)"', lib, re.M)
        path = re.search(r'^path\s*=\s*"([^"]+)"', lib, re.M)
        root = os.path.join(member, path.group(1) if path else "src/lib.rs")
        if not os.path.exists(root):
            continue
        crate = (name.group(1) if name else package).replace("-", "_")
        found[crate] = Crate(crate, root)
        folder = os.path.basename(member).replace("-", "_")
        if folder != crate:
            folders_named[folder] = crate
    module_names = {name for crate in found.values() for text in crate.sources.values()
                    for name in re.findall(r"\bmod\s+(" + IDENT + ")", text)}
    folders_named = {f: c for f, c in folders_named.items() if f not in found and f not in module_names}
    return found, folders_named


def lookup(module, name, public, seen=frozenset()):
    """What `name` in `module` is: [(kind, payload, crate)], or a reason."""
    if module is None:
        return "a module that cannot be read"
    entries = module.items.get(name, [])
    usable = [e for e in entries if e[0] or not public]
    if entries and not usable:
        return "private"
    results, reason = [], None
    for _, kind, payload in usable:
        if kind == "mod":
            results.append(("mod", module.crate.module(payload, module), module.crate))
        elif kind == "use":
            key = (id(module), name)
            if key in seen:
                continue
            # A re-export needs only its target to exist inside its crate.
            target = resolve_from(module, payload, seen | {key})
            if isinstance(target, str):
                reason = target
            else:
                results += target
        else:
            results.append((kind, (payload, name), module.crate))
    if results:
        return results
    key = (id(module), name, "*")
    for glob_public, segments in module.globs:
        if (public and not glob_public) or key in seen:
            continue
        seen = seen | {key}
        target = resolve_from(module, segments, seen)
        if isinstance(target, list):
            # The glob's module (or enum): the name must be found in it.
            found = walk(target, [name], False, seen)
            if isinstance(found, list):
                return found
    return reason or ("not declared" if not entries else "private")


def resolve_from(module, segments, seen=frozenset()):
    """A path written in `module` (a `use`): [(kind, payload, crate)]."""
    known, _ = crates()
    first, rest = segments[0], list(segments[1:])
    if first == "crate":
        current = [("mod", module.crate.root, module.crate)]
    elif first == "self":
        current = [("mod", module, module.crate)]
    elif first == "super":
        current = [("mod", module.parent, module.crate)]
        while rest and rest[0] == "super":
            rest.pop(0)
            current = [("mod", current[0][1].parent, module.crate)]
    elif first in module.items:
        # A name of this module (2018 paths): an item, a module, or a `use`.
        rest = list(segments)
        current = [("mod", module, module.crate)]
    elif first in known:
        return resolve_path(first, rest, public=True)
    else:
        return [("external", None, None)]
    return walk(current, rest, public=False, seen=seen)


def resolve_path(crate_name, segments, public=True):
    """`crate_name::segments…` from outside the crate: [(kind, payload,
    crate)], or what is wrong."""
    known, _ = crates()
    crate = known[crate_name]
    return walk([("mod", crate.root, crate)], list(segments), public, frozenset())


def walk(current, rest, public, seen):
    """Follows `rest` from `current`, what the path so far names; `public`:
    each step must be visible from outside the crate."""
    for name in rest:
        step, reason = [], None
        for kind, payload, crate in current:
            if kind == "external":
                return current
            if kind == "mod":
                found = lookup(payload, name, public, seen)
                if isinstance(found, str):
                    reason = reason or found
                else:
                    step += found
            elif kind in ("enum", "trait", "struct", "type", "union", "macro item"):
                body, owner = payload
                if kind == "macro item" and re.search(r"(?<![\w$])" + re.escape(name) + r"\b", body):
                    # What a macro declares is not read: a word of the
                    # module's source that declares it will do.
                    step.append(("variant", None, crate))
                    continue
                if kind == "enum" and body is not None:
                    variants = {v.split("(")[0].split("{")[0].strip()
                                for v in re.sub(r"#\[[^\]]*\]", "", top_level(body)).split(",")}
                    if name in variants:
                        step.append(("variant", None, crate))
                        continue
                if kind == "trait" and body is not None and re.search(r"\b(?:fn|const|type)\s+" + re.escape(name) + r"\b", top_level(body)):
                    step.append(("fn", None, crate))
                    continue
                assoc = crate.associated.get(owner, {})
                if name in assoc and (assoc[name] or not public):
                    step.append(("fn", None, crate))
                else:
                    reason = reason or ("private" if name in assoc else "not declared")
            else:
                reason = reason or f"inside a {kind}"
        if not step:
            return f"`{name}`: {reason or 'not declared'}"
        current = step
    return current


def rust_paths(doc_text):
    """(path, crate, segments) for each workspace-crate path the document
    writes in code: in inline code, and in `use` lines and code of ```rust
    blocks."""
    known, folder_names = crates()
    heads = sorted(set(known) | set(folder_names), key=len, reverse=True)
    pattern = re.compile(r"(?<![\w:$])(" + "|".join(heads) + r")((?:::" + IDENT + r")+)(::\*)?")
    spans = [inline for _, inline in CODE.findall(doc_text) if inline]
    for block in FENCE.findall(doc_text):
        imported = {}
        for use in USE.findall(block):
            for alias, segments in use_tree(use):
                spans.append("::".join(segments) + ("::*" if alias == "*" else ""))
                if alias != "*" and segments[0] in known:
                    imported[alias] = "::".join(segments)
        code = USE.sub("", block)
        spans.append(code)
        # A name the block imports, used with a path (`Event::from_json`).
        for alias, full in imported.items():
            for m in re.finditer(r"(?<![\w:$])" + alias + r"((?:::" + IDENT + r")+)", code):
                spans.append(full + m.group(1))
    for span in spans:
        for m in pattern.finditer(span):
            segments = m.group(2).split("::")[1:]
            if any(s.lower() == EXAMPLE_VENDOR for s in segments):
                continue
            yield m.group(0), m.group(1), segments


def check_names(doc, text):
    """Problems with the crate paths `doc` names, and how many it names."""
    known, folder_names = crates()
    problems, count = [], 0
    for written, head, segments in rust_paths(text):
        count += 1
        if head in folder_names:
            problems.append(f"{doc}: `{written}`: `{head}` is a folder, the crate is `{folder_names[head]}`")
            continue
        found = resolve_path(head, segments)
        if isinstance(found, str):
            problems.append(f"{doc}: `{written}`: not public in the crate `{head}` ({found})")
    return problems, count


def main():
    os.chdir(ROOT)
    documents = ["README.md", "RELIABILITY.md", "BENCHMARKS.md"] + sorted(glob.glob("docs/*.md"))
    problems, commands, paths, names = [], set(), 0, 0
    for doc in documents:
        with open(doc) as f:
            text = f.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, fragment = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
            if path and outside(path, os.path.dirname(doc)):
                problems.append(f"{doc}: link to {target}: outside the repository")
            elif not os.path.exists(resolved):
                problems.append(f"{doc}: link to {target}: no such file")
            elif fragment and resolved.endswith(".md") and fragment not in anchors(resolved):
                problems.append(f"{doc}: link to {target}: no such heading")
        for block, inline in CODE.findall(text):
            for before, target, after in MAKE.findall(block or inline):
                commands.add((doc, target, tuple((before + after).split())))
            if inline:
                is_path, problem = check_path(inline)
                paths += is_path
                if problem:
                    problems.append(f"{doc}: `{inline}`: {problem}")
        found, count = check_names(doc, text)
        problems += found
        names += count
        prose = LINK.sub("", CODE.sub("", text))
        for parent in PARENT.findall(prose):
            if outside(parent, os.path.dirname(doc)):
                problems.append(f"{doc}: {parent}: names a path outside the repository")
            elif not os.path.exists(os.path.join(os.path.dirname(doc), parent)):
                problems.append(f"{doc}: {parent}: no such path")
    with open("docs/README.md") as f:
        linked = {os.path.normpath(os.path.join("docs", t.partition("#")[0])) for t in LINK.findall(f.read())}
    for doc in sorted(glob.glob("docs/*.md")):
        if doc != "docs/README.md" and doc not in linked:
            problems.append(f"docs/README.md: does not link {doc}")
    listed = subprocess.run(["make", "--no-print-directory", "help"], capture_output=True, text=True, check=True).stdout
    targets = {line.split()[1] for line in listed.splitlines() if line.strip().startswith("make ")}
    named = {target for _, target, _ in commands}
    for doc, target, variables in sorted(commands):
        if target not in targets:
            problems.append(f"{doc}: `make {target}` is not a target `make help` lists")
    for problem in problems:
        print(f"docs: {problem}")
    if problems:
        sys.exit(1)
    print(f"docs: {len(documents)} documents, every link resolves, {paths} repository paths "
          f"named, each there, none outside the repository, {names} crate paths named, each public, "
          f"the index is whole, "
          f"{len(named)} make targets named, each listed by make help")


if __name__ == "__main__":
    main()
