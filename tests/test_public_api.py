"""Every public module's tuple ``__all__`` covers exactly its public names (anyio style)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import tenantdb


def _public_modules() -> list[str]:
    names = ["tenantdb"]
    for info in pkgutil.walk_packages(tenantdb.__path__, "tenantdb."):
        if not any(part.startswith("_") for part in info.name.split(".")):  # private, __main__
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("module_name", _public_modules())
def test_all_is_a_tuple_of_the_public_names(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, tuple), f"{module_name}.__all__ must be a tuple"
    for name in exported:
        assert hasattr(module, name), f"{module_name}.__all__ names missing {name!r}"
    defined_here = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and getattr(value, "__module__", module_name) == module_name
        and (callable(value) or isinstance(value, type))
    }
    missing = defined_here - set(exported)
    assert not missing, f"{module_name} defines public names not in __all__: {sorted(missing)}"


def test_top_level_exports_resolve() -> None:
    for name in tenantdb.__all__:
        assert getattr(tenantdb, name) is not None


def test_pre_layout_import_paths_still_work() -> None:
    """User code written before the admin/, web/, drivers/<transport>/ layout keeps working."""
    import tenantdb.admin.audit
    import tenantdb.admin.migrate
    import tenantdb.admin.seed
    import tenantdb.audit
    import tenantdb.migrate
    import tenantdb.seed
    from tenantdb.audit import Finding, audit
    from tenantdb.migrate import MigrationError, MigrationStatus, create, down, status, up
    from tenantdb.seed import SeedError, SeedSummary, seed

    assert up is tenantdb.admin.migrate.up
    assert (down, status, create) == (
        tenantdb.admin.migrate.down,
        tenantdb.admin.migrate.status,
        tenantdb.admin.migrate.create,
    )
    assert MigrationError is tenantdb.admin.migrate.MigrationError
    assert MigrationStatus is tenantdb.admin.migrate.MigrationStatus
    assert (seed, SeedError, SeedSummary) == (
        tenantdb.admin.seed.seed,
        tenantdb.admin.seed.SeedError,
        tenantdb.admin.seed.SeedSummary,
    )
    assert (audit, Finding) == (tenantdb.admin.audit.audit, tenantdb.admin.audit.Finding)
    for shim, impl in (
        (tenantdb.migrate, tenantdb.admin.migrate),
        (tenantdb.seed, tenantdb.admin.seed),
        (tenantdb.audit, tenantdb.admin.audit),
    ):
        assert shim.__all__ == impl.__all__
        assert all(getattr(shim, n) is getattr(impl, n) for n in shim.__all__)


def test_generated_code_imports_only_stable_modules() -> None:
    """Generated modules import ``tenantdb``, ``tenantdb.codecs``, ``tenantdb.query`` and
    ``tenantdb.drivers.base`` only: the runtime contract a regenerated project relies on."""
    import ast
    from pathlib import Path

    stable = {"tenantdb", "tenantdb.codecs", "tenantdb.query", "tenantdb.drivers.base"}
    root = Path(__file__).resolve().parents[1] / "generated"
    seen: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tenantdb"):
                target = node.module or ""
                if target == "tenantdb":
                    target += "".join(f".{a.name}" for a in node.names if a.name == "codecs") or ""
                seen.add(target)
    assert seen
    assert seen <= stable, sorted(seen - stable)
