"""The contract generated code runs on.

Generated functions take an :class:`Executor` first: the object yielded by
``Database.tenant(ctx)`` (one RLS transaction), ``Database.admin()``, or an asyncpg-backed
executor over a bare connection or pool. Every transport implements the same methods with
the same results, types and errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol, TypeVar

from tenantdb.query import Query

__all__ = ("Executor",)

R = TypeVar("R")


class Executor(Protocol):
    """Runs compiled queries with positional arguments (``$n`` order)."""

    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        """``:one`` -> the first row, or None."""
        ...

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        """``:many`` -> every row."""
        ...

    def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        """``:many`` as an async iterator (server-side cursor / keyset pages)."""
        ...

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        """``:exec``."""
        ...

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        """``:execrows`` / ``:execresult`` -> number of rows affected."""
        ...

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        """``:copyfrom`` -> number of rows inserted."""
        ...

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        """``:batchexec``: the statement once per argument tuple, pipelined."""
        ...

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        """``:batchone``: one result per argument tuple, in order."""
        ...

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        """``:batchmany``: one list of rows per argument tuple, in order."""
        ...
