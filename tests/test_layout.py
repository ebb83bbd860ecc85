"""The package layout holds: no import circle anywhere in ``src/tenantdb``.

Every import counts, including the lazy ones inside functions and those under
``TYPE_CHECKING``: a circle hidden in a function body is still two modules that cannot be read
(or moved) one without the other. Package ``__init__`` modules that only re-export are nodes
like any other.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "tenantdb"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                # "from pkg import sub" names a submodule when one exists
                subs = [f"{base}.{alias.name}" for alias in node.names]
                targets = [s if s in modules else base for s in subs]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative enough)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
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
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_src() -> None:
    graph = _edges(_modules())
    assert _cycles(graph) == []


def test_the_checker_sees_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_each_transport_has_its_folder() -> None:
    """One hop from the tree: a transport, admin operations and the web edge are folders."""
    for folder in ("drivers/asyncpg", "drivers/dataapi", "admin", "admin/migrate", "web"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    stray = sorted(
        p.name for p in PACKAGE.glob("drivers/*.py") if p.name.startswith(("_asyncpg", "_dataapi"))
    )
    assert stray == []


def test_the_transports_do_not_import_each_other() -> None:
    """What both lanes need lives beside them in ``drivers/`` (``_settings``, ``_tx_common``,
    ``_redact``, ``_detached``), not in the other transport's folder."""
    graph = _edges(_modules())
    crossing = sorted(
        (a, b)
        for a, targets in graph.items()
        for b in targets
        for mine, other in (("asyncpg", "dataapi"), ("dataapi", "asyncpg"))
        if a.startswith(f"tenantdb.drivers.{mine}") and b.startswith(f"tenantdb.drivers.{other}")
    )
    assert crossing == []
