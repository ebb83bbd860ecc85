"""Apply and roll back migrations under a session advisory lock, one transaction each.

The runner connects as the admin role and runs every file under ``SET LOCAL ROLE <owner>``
so the objects it creates are owned by the owner role, never by the login role. The
tracking row is written in the same transaction as the migration: a failed file leaves the
database exactly as it was.

This module is the asyncpg transport; what does not depend on the transport is in
``_bookkeeping``, and ``_api`` picks the runner for a DSN or a ``DataApi``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import asyncpg

from tenantdb.admin.migrate._bookkeeping import (
    _CREATE_TRACKING,
    _LOCK_KEY,
    DEFAULT_OWNER_ROLE,
    TRACKING_TABLE,
    MigrationStatus,
    _Applied,
    _details,
    _doomed,
    _forget,
    _line_at,
    _millis,
    _outcome,
    _pending,
    _poll_lock,
    _record,
    _set_role,
    _state,
    _statements,
    _statuses,
    _verify,
)
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.migrate._files import MigrationFile, load_directory, no_transaction
from tenantdb.postgres import Postgres

if TYPE_CHECKING:
    pass

__all__ = ("down", "status", "up")


_CONNECT_TIMEOUT_S = 10.0


async def up(
    dsn: str | Postgres,
    directory: str | Path,
    *,
    to: int | None = None,
    role: str | None = None,
    lock_timeout: float = 60.0,
    ddl_lock_timeout: float = 30.0,
) -> list[int]:
    """``tenantdb.migrate.up`` over an asyncpg connection to the admin DSN."""
    files = load_directory(directory)
    owner = role or DEFAULT_OWNER_ROLE
    async with _locked(dsn, lock_timeout, ddl_lock_timeout) as conn:
        await _ensure_tracking_table(conn, owner)
        applied = await _applied(conn)
        _verify(files, applied)
        pending = _pending(files, applied, to)
        for migration in pending:
            await _apply(conn, migration, owner)
        return [m.version for m in pending]


async def down(
    dsn: str | Postgres,
    directory: str | Path,
    *,
    to: int,
    role: str | None = None,
    lock_timeout: float = 60.0,
    ddl_lock_timeout: float = 30.0,
) -> list[int]:
    """``tenantdb.migrate.down`` over an asyncpg connection to the admin DSN."""
    files = {f.version: f for f in load_directory(directory)}
    owner = role or DEFAULT_OWNER_ROLE
    async with _locked(dsn, lock_timeout, ddl_lock_timeout) as conn:
        await _ensure_tracking_table(conn, owner)
        applied = await _applied(conn)
        _verify(list(files.values()), applied)
        doomed = _doomed(applied, to)
        for version in doomed:
            await _revert(conn, files[version], owner)
        return doomed


async def status(dsn: str | Postgres, directory: str | Path) -> list[MigrationStatus]:
    """``tenantdb.migrate.status`` over an asyncpg connection to the admin DSN."""
    files = {f.version: f for f in load_directory(directory)}
    conn = await _connect(dsn)
    try:
        applied = await _applied(conn)
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"cannot read {TRACKING_TABLE}: SQLSTATE {exc.sqlstate}: {exc}", sqlstate=exc.sqlstate
        ) from exc
    finally:
        await conn.close()
    return _statuses(files, applied)


# -- the database side -----------------------------------------------------------------------
async def _connect(
    dsn: str | Postgres, *, ddl_lock_timeout: float | None = None
) -> asyncpg.Connection:
    settings = {"application_name": "tenantdb-migrate"}
    if ddl_lock_timeout is not None:
        # A DDL statement queued behind a long transaction would otherwise wait forever and
        # block every query behind it; a file may still `SET LOCAL lock_timeout` itself.
        settings["lock_timeout"] = _millis(ddl_lock_timeout)
    try:
        if isinstance(dsn, Postgres):
            own = dsn.connect_kwargs.get("server_settings") or {}
            conn: asyncpg.Connection = await dsn.connect(
                timeout=_CONNECT_TIMEOUT_S, server_settings={**own, **settings}
            )
            return conn
        return await asyncpg.connect(
            dsn,
            timeout=_CONNECT_TIMEOUT_S,
            server_settings=settings,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        if "unsupported startup parameter" in str(exc):
            raise _pooler_refused(str(exc)) from exc
        raise MigrationError(
            f"cannot connect to the database: {exc}", sqlstate=_state(exc)
        ) from exc


def _pooler_refused(what: str) -> MigrationError:
    """Migrations behind a transaction pooler (pgbouncer ``pool_mode = transaction``, RDS
    Proxy): the session advisory lock and the session settings would land on whichever
    server connection the pooler picks, so two migrators could interleave."""
    return MigrationError(
        f"the migration runner needs a direct PostgreSQL session, and this DSN looks like a "
        f"transaction pooler ({what}): point the admin DSN (DATABASE_URL) at the server "
        "itself, not at pgbouncer (docs/scale.md)"
    )


@asynccontextmanager
async def _locked(
    dsn: str | Postgres, lock_wait_s: float, ddl_lock_timeout: float
) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding the migration lock; two migrators never interleave."""
    conn = await _connect(dsn, ddl_lock_timeout=ddl_lock_timeout)
    try:
        await _poll_lock(conn, "SELECT pg_try_advisory_lock($1)", lock_wait_s)
        await _check_lock_is_ours(conn)
        yield conn
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"migration bookkeeping failed: SQLSTATE {exc.sqlstate}: {exc}", sqlstate=exc.sqlstate
        ) from exc
    finally:
        with anyio.CancelScope(shield=True):
            await conn.close()  # closing the session releases the advisory lock


async def _check_lock_is_ours(conn: asyncpg.Connection) -> None:
    """The session lock must be held by the backend the next statements run on; behind a
    transaction pooler that accepted our startup parameters it may not be."""
    held = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND pid = pg_backend_pid() AND objsubid = 1"
        " AND ((classid::bigint << 32) | objid::bigint) = $1)",
        _LOCK_KEY,
    )
    if not held:
        raise _pooler_refused("the migration lock is held by another backend than ours")


async def _ensure_tracking_table(conn: asyncpg.Connection, owner: str) -> None:
    async with conn.transaction():
        await _set_role(conn, owner, local=True)
        await conn.execute(_CREATE_TRACKING)


async def _applied(conn: asyncpg.Connection) -> dict[int, _Applied]:
    if await conn.fetchval("SELECT to_regclass($1)", TRACKING_TABLE) is None:
        return {}
    rows = await conn.fetch(
        f"SELECT version, name, checksum, applied_at, duration_ms FROM {TRACKING_TABLE}"
    )
    return {r["version"]: _Applied(**dict(r)) for r in rows}


async def _apply(conn: asyncpg.Connection, migration: MigrationFile, owner: str) -> None:
    sql = migration.up_sql()
    start = time.perf_counter()
    if no_transaction(sql):
        await _run_outside_transaction(conn, migration.up_path, sql, owner)
        await _record(conn, migration, (time.perf_counter() - start) * 1000)
        return
    async with conn.transaction():
        await _set_role(conn, owner, local=True)
        await _run_script(conn, migration.up_path, sql, transactional=True)
        await _record(conn, migration, (time.perf_counter() - start) * 1000)


async def _revert(conn: asyncpg.Connection, migration: MigrationFile, owner: str) -> None:
    sql = migration.down_sql()
    if no_transaction(sql):
        await _run_outside_transaction(conn, migration.down_path, sql, owner)
        await _forget(conn, migration)
        return
    async with conn.transaction():
        await _set_role(conn, owner, local=True)
        await _run_script(conn, migration.down_path, sql, transactional=True)
        await _forget(conn, migration)


async def _run_outside_transaction(
    conn: asyncpg.Connection, path: Path, sql: str, owner: str
) -> None:
    """Autocommit, statement by statement: CREATE INDEX CONCURRENTLY refuses to run in a
    transaction block, and a multi-statement string would be one implicit transaction."""
    await _set_role(conn, owner, local=False)
    try:
        await _run_script(conn, path, sql, transactional=False)
    finally:
        await conn.execute("RESET ROLE")


async def _run_script(
    conn: asyncpg.Connection, path: Path, sql: str, *, transactional: bool
) -> None:
    """One statement at a time (simple protocol), so an error names its statement's line
    even when the server gives no position (runtime errors never do)."""
    for offset, statement in _statements(path, sql):
        async with _wrapped(path, sql, offset=offset, transactional=transactional):
            await conn.execute(statement)


@asynccontextmanager
async def _wrapped(
    path: Path, sql: str, *, offset: int = 0, transactional: bool = True
) -> AsyncIterator[None]:
    """Turn a server error into a MigrationError naming the file, SQLSTATE and line."""
    try:
        yield
    except asyncpg.PostgresError as exc:
        raise _migration_error(path, sql, offset, exc, _outcome(transactional)) from exc
    except (OSError, asyncpg.InterfaceError) as exc:
        raise MigrationError(f"{path.name}: connection failed: {exc}", path=str(path)) from exc


def _migration_error(
    path: Path, sql: str, offset: int, exc: asyncpg.PostgresError, outcome: str
) -> MigrationError:
    raw = getattr(exc, "position", None)
    position = offset + int(raw) if raw else offset + 1
    line_no, line = _line_at(sql, position)
    detail = _details(exc, ("detail", "hint", "context"))
    return MigrationError(
        f"{path.name} {outcome}: SQLSTATE {exc.sqlstate}: "
        f"{exc.args[0] if exc.args else exc} at line {line_no}: {line}{detail}",
        path=str(path),
        sqlstate=exc.sqlstate,
        position=position,
    )
