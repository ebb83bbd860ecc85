"""Running one statement on a connection: typed result columns, timeout with cancel.

On timeout the backend query is cancelled (asyncpg sends a cancel request when the awaiting
task is cancelled) and StatementTimeoutException carries the backend pid as
``dbConnectionId``. With ``continueAfterTimeout`` the caller still gets the error, but the
statement keeps running and ``on_detached`` cleans up when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NamedTuple, TypeVar

import asyncpg
from asyncpg.types import Attribute

from tenantdb.local.dataapi._bind import Bound
from tenantdb.local.dataapi._describe import ColumnOrigin, describe
from tenantdb.local.dataapi._encode import ColumnCodec, Options, column_codecs
from tenantdb.local.dataapi._errors import ApiError, database_error

__all__ = ("Result", "execute", "with_timeout")

T = TypeVar("T")


class Result(NamedTuple):
    attrs: tuple[Attribute, ...]
    codecs: list[ColumnCodec]
    rows: list[asyncpg.Record]
    status: str
    origins: list[ColumnOrigin] | None = None

    @property
    def updated(self) -> int:
        """numberOfRecordsUpdated: the DML row count; 0 for statements that return rows."""
        if self.attrs:
            return 0
        words = self.status.split()
        if words and words[0] in ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY"):
            return int(words[-1])
        return 0


async def execute(
    conn: asyncpg.Connection, bound: Bound, options: Options, *, describe_dsn: str | None = None
) -> Result:
    """Prepare (checking result types before anything runs), then execute; with
    ``describe_dsn`` also find each column's origin for ``columnMetadata``."""
    try:
        stmt = await conn.prepare(bound.sql)
        attrs = stmt.get_attributes()
        codecs = column_codecs(attrs, options)
        rows = await stmt.fetch(*bound.args)
        status = stmt.get_statusmsg() or ""
        origins = None
        if describe_dsn is not None and attrs:
            origins = await describe(describe_dsn, bound.sql, conn)
        return Result(attrs, codecs, rows, status, origins)
    except asyncpg.PostgresError as exc:
        raise database_error(exc) from exc
    except (asyncpg.DataError, OverflowError, TypeError, ValueError) as exc:
        raise ApiError(
            "BadRequestException", f"Invalid parameter value ({type(exc).__name__})"
        ) from exc


async def with_timeout(
    conn: asyncpg.Connection,
    work: Coroutine[Any, Any, T],
    *,
    timeout: float,  # noqa: ASYNC109 - the statement timeout is the operation's subject
    continue_after: bool,
    on_detached: Callable[[], Awaitable[None]],
) -> T:
    """Run ``work``; past ``timeout`` cancel it (or detach it) and raise the AWS timeout."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    pid = conn.get_server_pid()
    if continue_after:
        task.add_done_callback(lambda t: _detached_done(t, on_detached))
    else:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    raise ApiError("StatementTimeoutException", "Request timed out", dbConnectionId=pid)


_background: set[asyncio.Task[None]] = set()


def _detached_done(task: asyncio.Future[Any], on_detached: Callable[[], Awaitable[None]]) -> None:
    if not task.cancelled():
        task.exception()  # consumed: the client already got its timeout error

    async def cleanup() -> None:
        await on_detached()

    follow_up = asyncio.ensure_future(cleanup())
    _background.add(follow_up)
    follow_up.add_done_callback(_background.discard)
