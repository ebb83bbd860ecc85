"""Fixtures for the codegen tests: a migrated scratch database and type assertions.

``codegen_db`` is a database of its own (the shared session database holds the RLS fixture
rows other suites count), migrated with ``schema/``, used by the admin-lane query tests.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.migrate import up

__all__ = ("assert_declared_types",)

_SCHEMA = Path(__file__).resolve().parent.parent / "schema"


@pytest.fixture(scope="session")
async def codegen_db(local_pg: LocalPostgres) -> AsyncIterator[LocalDatabase]:
    """A migrated database for the generated-query tests (dropped at the end)."""
    db = await local_pg.create_database("codegen_queries")
    await up(db.admin_dsn, _SCHEMA)
    yield db
    await local_pg.drop_database("codegen_queries")


def assert_declared_types(value: Any, annotation: Any = None, path: str = "$") -> None:
    """Every value is an instance of its declared type, field by field (Structs recursively).

    Resolves the Struct's annotations with ``typing.get_type_hints``; unions, ``list[...]``,
    ``dict[...]``, ``Any``, enums and nested Structs are walked. Raises AssertionError naming
    the path (``$.booking.status``).
    """
    if annotation is None:
        annotation = type(value)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        assert type(value) is annotation, f"{path}: {type(value).__name__} is not {annotation}"
        hints = typing.get_type_hints(annotation)
        for name in annotation.__struct_fields__:
            assert_declared_types(getattr(value, name), hints[name], f"{path}.{name}")
        return
    _check(value, annotation, path)


def _check(value: Any, annotation: Any, path: str) -> None:
    if annotation is Any:
        return
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(annotation):
            try:
                assert_declared_types(value, option, path)
            except AssertionError as exc:
                errors.append(str(exc))
            else:
                return
        raise AssertionError(f"{path}: {value!r} matches none of {annotation}: {errors}")
    if annotation is None or annotation is type(None):
        assert value is None, f"{path}: expected None, got {value!r}"
    elif origin in (list, dict):
        _check_container(value, annotation, path)
    else:
        _check_class(value, annotation, path)


def _check_container(value: Any, annotation: Any, path: str) -> None:
    origin = typing.get_origin(annotation)
    assert isinstance(value, origin), f"{path}: {value!r} is not a {origin.__name__}"
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        for i, v in enumerate(value):
            assert_declared_types(v, item, f"{path}[{i}]")


def _check_class(value: Any, annotation: Any, path: str) -> None:
    assert isinstance(annotation, type), f"{path}: unsupported annotation {annotation!r}"
    if annotation is float:
        assert isinstance(value, float), f"{path}: {value!r} is not a float"
    elif annotation is int:
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: {value!r}"
    elif issubclass(annotation, enum.Enum):
        assert type(value) is annotation, f"{path}: {value!r} is not a {annotation.__name__}"
    else:
        assert isinstance(value, annotation), (
            f"{path}: {type(value).__name__} {value!r} is not a {annotation.__name__}"
        )
