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
from asyncpg.types import Attribute, Type

from tenantdb.local.dataapi._bind import Bound
from tenantdb.local.dataapi._describe import ColumnOrigin, describe, describe_columns
from tenantdb.local.dataapi._encode import (
    RANGE_TYPES,
    ColumnCodec,
    Options,
    column_codecs,
    is_range,
    is_range_array,
)
from tenantdb.local.dataapi._errors import ApiError, database_error

__all__ = ("Result", "execute", "with_timeout")

T = TypeVar("T")


class Result(NamedTuple):
    attrs: tuple[Attribute, ...]
    codecs: list[ColumnCodec]
    rows: list[asyncpg.Record]
    status: str
    origins: list[ColumnOrigin] | None = None

    def data_bytes(self) -> int:
        """The size of the data the database returned (AWS: "If the binary response data from
        the database is more than 1 MB, the call is terminated"), not of the JSON envelope:
        text in UTF-8, bytea raw, fixed-size scalars at their width."""
        return sum(_size(v) for row in self.rows for v in row)

    @property
    def updated(self) -> int:
        """numberOfRecordsUpdated: the DML row count; 0 for statements that return rows."""
        if self.attrs:
            return 0
        words = self.status.split()
        if words and words[0] in ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY"):
            return int(words[-1])
        return 0


_FIXED_SIZE = {bool: 1, int: 8, float: 8}


def _size(value: Any) -> int:
    if value is None:
        return 0
    fixed = _FIXED_SIZE.get(type(value))
    if fixed is not None:
        return fixed
    if isinstance(value, list | tuple):
        return sum(_size(v) for v in value)
    return len(value if isinstance(value, bytes) else str(value).encode())


async def execute(
    conn: asyncpg.Connection,
    bound: Bound,
    options: Options,
    *,
    describe_dsn: str | None = None,
    probe_dsn: str | None = None,
) -> Result:
    """Prepare (checking result types before anything runs), then execute; with
    ``describe_dsn`` also find each column's origin for ``columnMetadata``."""
    try:
        stmt, attrs = await _prepare(conn, bound.sql, probe_dsn)
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


async def _prepare(
    conn: asyncpg.Connection, sql: str, probe_dsn: str | None
) -> tuple[Any, tuple[Attribute, ...]]:
    """Prepare ``sql``; built-in range columns are re-prepared cast to text (pgjdbc returns a
    range as its text, and asyncpg cannot even prepare numrange/daterange/tsrange results
    once numeric/date/timestamp use text codecs). Nothing has run yet."""
    try:
        stmt = await conn.prepare(sql)
    except asyncpg.UnsupportedClientFeatureError:
        columns = await describe_columns(probe_dsn, sql) if probe_dsn else None
        if columns is None:
            raise _unsupported_range() from None
        kinds = [(name, *_RANGE_OIDS.get(oid, ("", False))) for name, oid in columns]
    else:
        attrs = stmt.get_attributes()
        if not any(is_range(a.type) or is_range_array(a.type) for a in attrs):
            return stmt, attrs
        kinds = [(a.name, a.type.name.removesuffix("[]"), is_range_array(a.type)) for a in attrs]
    wrapped = await _prepare_wrapped(conn, sql, kinds)
    shown = [
        Attribute(name, Type(0, f"{typ}[]" if array else typ, "array" if array else "range", _PG))
        if typ in RANGE_TYPES
        else attr
        for (name, typ, array), attr in zip(kinds, wrapped.get_attributes(), strict=True)
    ]
    return wrapped, tuple(shown)


_PG = "pg_catalog"
_RANGE_OIDS = {
    3904: ("int4range", False),
    3905: ("int4range", True),
    3906: ("numrange", False),
    3907: ("numrange", True),
    3908: ("tsrange", False),
    3909: ("tsrange", True),
    3910: ("tstzrange", False),
    3911: ("tstzrange", True),
    3912: ("daterange", False),
    3913: ("daterange", True),
    3926: ("int8range", False),
    3927: ("int8range", True),
}


async def _prepare_wrapped(
    conn: asyncpg.Connection, sql: str, kinds: list[tuple[str, str, bool]]
) -> Any:
    names = [f"c{i}" for i in range(len(kinds))]
    columns = []
    for name, (label, typ, array) in zip(names, kinds, strict=True):
        quoted = '"' + label.replace('"', '""') + '"'
        cast = ("::text[]" if array else "::text") if typ in RANGE_TYPES else ""
        columns.append(f"q.{name}{cast} AS {quoted}")
    wrapped = f"WITH q({', '.join(names)}) AS (\n{_body(sql)}\n) SELECT {', '.join(columns)} FROM q"
    try:
        return await conn.prepare(wrapped)
    except (asyncpg.PostgresError, asyncpg.UnsupportedClientFeatureError):
        raise _unsupported_range() from None


def _body(sql: str) -> str:
    return sql.rstrip().removesuffix(";")


def _unsupported_range() -> ApiError:
    return ApiError(
        "UnsupportedResultException",
        "The result contains the unsupported data type range (cast it to text).",
    )


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
