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


def main():
    os.chdir(ROOT)
    documents = ["README.md", "RELIABILITY.md", "BENCHMARKS.md"] + sorted(glob.glob("docs/*.md"))
    problems, commands, paths = [], set(), 0
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
          f"named, each there, none outside the repository, the index is whole, "
          f"{len(named)} make targets named, each listed by make help")


if __name__ == "__main__":
    main()
