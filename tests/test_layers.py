"""The layers run one way: scorer <- leaderboard <- submissions <- web <- app.py.

Checked on the source (every import statement, function-local ones included) and by importing
each package alone in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.conftest import REPO

LAYERS = ("scorer", "leaderboard", "submissions", "web")


def _module_name(path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path, modules) -> set[str]:
    """Every module of ours an import statement in ``path`` names, at any depth. ``from pkg
    import sub`` depends on ``pkg.sub`` when that is a module, else on ``pkg``."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                found.add(sub if sub in modules else module)
    return {m for m in found if m in modules}


def _graph() -> dict[str, set[str]]:
    files = [p for layer in LAYERS for p in (REPO / layer).rglob("*.py")]
    modules = {_module_name(p): p for p in files}
    return {name: _imports(path, modules) for name, path in modules.items()}


def test_no_lower_layer_imports_a_higher_one():
    graph = _graph()
    offences = [
        f"{src} imports {dst}"
        for src, targets in graph.items()
        for dst in targets
        if LAYERS.index(dst.split(".")[0]) > LAYERS.index(src.split(".")[0])
    ]
    assert offences == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_modules():
    # a package's __init__ re-exports its modules; a module of the package that imported
    # the package itself back would be a cycle, and is reported like any other
    assert _cycles(_graph()) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", LAYERS)
def test_each_package_imports_alone_without_the_layers_above(layer):
    above = LAYERS[LAYERS.index(layer) + 1 :]
    code = (
        f"import sys, {layer}\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {above!r})\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
