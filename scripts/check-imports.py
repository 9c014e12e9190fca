#!/usr/bin/env python3
"""No import cycle inside any crate's src/: the modules of each crate, as the
files that define them, and the `crate::…` / `super::…` paths each one's
non-test code names, must form a graph without cycles (make lint).

A module is named by its file: `src/ingress/handler.rs` is
`ingress::handler`, `src/egress/archive/mod.rs` is `egress::archive`, and a
module's private children (`archive/records.rs`) count as the module itself,
so only cycles between siblings' families are reported. Test code
(`tests.rs`, and `#[cfg(test)] mod tests { … }` to the end of a file) is left
out: tests may reach anywhere.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PATH = re.compile(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)+)")


def module_of(src: pathlib.Path, file: pathlib.Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def without_tests(text: str) -> str:
    """The code: test modules and comments (doc links are not imports) left out."""
    cut = re.search(r"#\[cfg\(test\)\]\s*mod tests\b", text)
    text = text[: cut.start()] if cut else text
    return "\n".join(line.split("//")[0] for line in text.splitlines())


def graph(src: pathlib.Path):
    files = [f for f in src.rglob("*.rs") if f.name != "tests.rs" and "bin" not in f.relative_to(src).parts]
    modules = {module_of(src, f): f for f in files}
    edges = {m: set() for m in modules}
    for module, file in modules.items():
        is_dir_module = file.name in ("mod.rs", "lib.rs", "main.rs")
        here = module if is_dir_module else module[:-1]
        for kind, rest in PATH.findall(without_tests(file.read_text())):
            names = tuple(rest.strip(":").split("::"))
            target = names if kind == "crate" else here[:-1] + names if not is_dir_module else module[:-1] + names
            # The longest prefix that is a module of this crate.
            while target and target not in modules:
                target = target[:-1]
            if target and target != module:
                edges[module].add(target)
    return modules, edges


def cycles(modules, edges):
    # Collapse each module into its top-most ancestor below the common parent
    # of the two ends of an edge: a child naming its own parent (or its own
    # descendants) is not a cycle between siblings.
    sibling_edges = {}
    for a, targets in edges.items():
        for b in targets:
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            if common == len(a) or common == len(b):
                continue  # ancestor and descendant
            x, y = a[: common + 1], b[: common + 1]
            sibling_edges.setdefault(x, set()).add(y)
    # Tarjan's strongly connected components.
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sibling_edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in list(sibling_edges):
        if v not in index:
            visit(v)
    return found, sibling_edges


def main() -> int:
    failed = False
    crates = sorted(p.parent for p in ROOT.glob("**/Cargo.toml") if (p.parent / "src").is_dir()
                    and "target" not in p.parts and ".tools" not in p.parts and "fuzz" not in p.parts)
    for crate in crates:
        modules, edges = graph(crate / "src")
        found, sibling_edges = cycles(modules, edges)
        name = crate.relative_to(ROOT)
        for component in found:
            failed = True
            names = ", ".join("::".join(c) for c in component)
            print(f"{name}: import cycle between {names}")
            for a in component:
                for b in sorted(sibling_edges.get(a, ())):
                    if b in component:
                        print(f"    {'::'.join(a)} -> {'::'.join(b)}")
    if not failed:
        print(f"imports: no cycle in the src/ of {len(crates)} crates")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
