"""An :class:`~tenantdb.drivers.base.Executor` over an asyncpg connection or pool.

It runs compiled :class:`~tenantdb.query.Query` objects as they are: ``query.sql`` with
``$n`` placeholders and positional arguments, rows built with ``query.from_record`` (the
per-query constructor decided at codegen time). It maps no errors and records no metrics:
``Database`` wraps it for that (one seam per translation).

On a pool every call acquires a connection for its duration; :meth:`stream` then holds that
connection and a transaction open while the caller iterates (server-side cursors only live
inside a transaction). On a connection, :meth:`stream` opens a transaction only when none
is active. Batches are atomic: ``batch_exec`` through ``executemany``, ``batch_one`` and
``batch_many`` in the caller's transaction or, without one, their own. A consumer that stops
early should close the iterator (``contextlib.aclosing``) so the connection goes back to the
pool at once rather than when the generator is collected.

Example::

    pool = await asyncpg.create_pool(dsn)
    ex = AsyncpgExecutor(pool)
    booking = await bookings.get_booking(ex, id=booking_id)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

import asyncpg

from tenantdb.errors import ConfigurationError
from tenantdb.query import Query

__all__ = ("AsyncpgExecutor",)

R = TypeVar("R")


class AsyncpgExecutor:
    """Executor over ``asyncpg.Connection`` or ``asyncpg.Pool`` (admin and plain lanes)."""

    def __init__(self, target: asyncpg.Connection | asyncpg.Pool) -> None:
        self._target = target

    @contextlib.asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        if isinstance(self._target, asyncpg.Pool):
            async with self._target.acquire() as conn:
                yield conn
        else:
            yield self._target

    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        async with self._conn() as conn:
            record = await conn.fetchrow(query.sql, *args)
        return None if record is None else _build(query)(record)

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        async with self._conn() as conn:
            records = await conn.fetch(query.sql, *args)
        return list(map(_build(query), records))

    async def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        build = _build(query)
        async with self._conn() as conn, _atomic(conn):
            async for record in conn.cursor(query.sql, *args, prefetch=page_size):
                yield build(record)

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        async with self._conn() as conn:
            await conn.execute(query.sql, *args)

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        async with self._conn() as conn:
            status = await conn.execute(query.sql, *args)
        return _rows_from_status(status)

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        if query.copy_table is None:
            raise ConfigurationError(f"query {query.name} is not a :copyfrom query")
        schema, _, table = query.copy_table.rpartition(".")
        async with self._conn() as conn:
            status = await conn.copy_records_to_table(
                table,
                records=rows,
                columns=list(query.copy_columns),
                schema_name=schema or None,
            )
        return _rows_from_status(status)

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        if not arg_rows:
            return
        async with self._conn() as conn:
            await conn.executemany(query.sql, arg_rows)

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        build = _build(query)
        out: list[R | None] = []
        async with self._conn() as conn, _atomic(conn):
            stmt = await conn.prepare(query.sql)
            for args in arg_rows:
                record = await stmt.fetchrow(*args)
                out.append(None if record is None else build(record))
        return out

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        build = _build(query)
        out: list[list[R]] = []
        async with self._conn() as conn, _atomic(conn):
            stmt = await conn.prepare(query.sql)
            for args in arg_rows:
                out.append([build(r) for r in await stmt.fetch(*args)])
        return out


def _atomic(conn: Any) -> Any:
    """The caller's transaction when one is open, else a new one: a batch is all or nothing
    (as ``executemany`` is), and a cursor needs a transaction to live in."""
    return contextlib.nullcontext() if conn.is_in_transaction() else conn.transaction()


def _build(query: Query[R]) -> Any:
    if query.from_record is None:
        raise ConfigurationError(f"query {query.name} ({query.command}) returns no rows")
    return query.from_record


def _rows_from_status(status: str) -> int:
    """The row count of a command tag: ``UPDATE 3`` -> 3, ``INSERT 0 5`` -> 5, ``COPY 7`` -> 7;
    0 for tags without a count."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0
