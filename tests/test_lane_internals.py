"""Guards on the asyncpg lane's module structure that behaviour tests cannot see."""

from __future__ import annotations

import functools
import inspect

from tenantdb.drivers.asyncpg import lane


def test_only_the_begin_plan_is_cached() -> None:
    """The BEGIN script is cached per context and mode; nothing that holds a connection or a
    coroutine may be (an lru_cache on a coroutine function keeps every connection alive and
    returns an already-awaited coroutine for a repeated argument)."""
    cached = [
        name
        for name, value in vars(lane).items()
        if isinstance(value, functools._lru_cache_wrapper)
    ]
    assert cached == ["_begin_plan"]
    assert not any(
        inspect.iscoroutinefunction(getattr(value, "__wrapped__", None))
        for value in vars(lane).values()
    )
