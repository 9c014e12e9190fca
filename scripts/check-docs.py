#!/usr/bin/env python3
"""Checks that the documentation can be followed.

    python3 scripts/check-docs.py

- every relative link in README.md, BENCHMARKS.md and docs/*.md resolves (the
  file, and the heading for a #fragment into a Markdown file);
- docs/README.md, the index, links every document in docs/;
- every `make` command written in code (inline or in a block) names a target
  that `make help` lists (a target with a `##` description). Not `make -n`:
  GNU make runs a recipe line that calls $(MAKE) even in a dry run, and
  `make -n test` would run the fuzzer.

Exits non-zero, listing every failure.
"""
import glob
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
CODE = re.compile(r"```[^\n]*\n(.*?)```|`([^`\n]+)`", re.S)
MAKE = re.compile(r"(?<![\w/.-])make ((?:[A-Z_]+=\S+ )*)([a-z][a-z0-9-]*)((?: [A-Z_]+=[^\s`]*)*)")


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path):
    with open(path) as f:
        return {slug(line.lstrip("#")) for line in f if line.startswith("#")}


def main():
    os.chdir(ROOT)
    documents = ["README.md", "BENCHMARKS.md"] + sorted(glob.glob("docs/*.md"))
    problems, commands = [], set()
    for doc in documents:
        with open(doc) as f:
            text = f.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, fragment = target.partition("#")
            resolved = os.path.normpath(os.path.join(os.path.dirname(doc), path)) if path else doc
            if not os.path.exists(resolved):
                problems.append(f"{doc}: link to {target}: no such file")
            elif fragment and resolved.endswith(".md") and fragment not in anchors(resolved):
                problems.append(f"{doc}: link to {target}: no such heading")
        for block, inline in CODE.findall(text):
            for before, target, after in MAKE.findall(block or inline):
                commands.add((doc, target, tuple((before + after).split())))
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
    print(f"docs: {len(documents)} documents, every link resolves, the index is whole, "
          f"{len(named)} make targets named, each listed by make help")


if __name__ == "__main__":
    main()
