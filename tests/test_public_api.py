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
