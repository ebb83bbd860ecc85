"""The migration runner over the RDS Data API (admin secret), for deployments without a VPC.

The Data API has no session, so the asyncpg runner's session advisory lock cannot exist here.
Instead every file gets its own Data API transaction which first takes the *transaction*
advisory lock on the same key (``pg_try_advisory_xact_lock``, polled up to ``lock_timeout``),
then re-reads the tracking table inside the lock and picks the next file from that fresh
state. Two migrators, whichever transport each uses, never apply the same file twice: the
xact and session forms of a bigint advisory lock share one lock tag.

Per file: ``BeginTransaction``; lock; ``SET LOCAL lock_timeout``; ``SET LOCAL ROLE <owner>``;
``CREATE TABLE IF NOT EXISTS`` tracking table; re-read; each statement of the file (split by
``tenantdb._sqllex``) as one ExecuteStatement; tracking row; ``CommitTransaction``. PostgreSQL
DDL is transactional (the implicit commit of DDL in a Data API transaction is Aurora MySQL
only), so a failure rolls back the file and its tracking row together.

A ``-- tenantdb:no-transaction`` file runs its statements as autocommitted calls (each its own
server session: ``SET ROLE`` cannot carry over, so they run as the admin login role; an index
built concurrently belongs to its table's owner anyway). The lock cannot be held while they
run: it lives in a transaction, and ``CREATE INDEX CONCURRENTLY`` waits for every open
transaction of the database (it would wait for its own migrator's). So the lock is taken
before (re-read: skip if already applied) and after (record the row unless another migrator
did); two migrators racing on the same no-transaction file may both run its statements, which
is why such files hold one ``IF NOT EXISTS`` statement.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenantdb.admin.migrate._bookkeeping import (
    _CREATE_TRACKING,
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
    _statements,
    _statuses,
    _verify,
)
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.migrate._files import MigrationFile, load_directory, no_transaction
from tenantdb.admin.session import DataApiSession
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.errors import QueryError, TenantDBError

__all__ = ("down", "status", "up")

_READ_TRACKING = (
    f"SELECT version, name, checksum, applied_at::text AS applied_at, duration_ms"
    f" FROM {TRACKING_TABLE}"
)


async def up(
    config: DataApi,
    directory: str | Path,
    *,
    to: int | None,
    role: str | None,
    lock_timeout: float,
    ddl_lock_timeout: float,
) -> list[int]:
    """Apply pending files one Data API transaction each; the versions this call applied."""
    files = load_directory(directory)
    owner = role or DEFAULT_OWNER_ROLE
    done: list[int] = []
    async with _session(config) as s:
        while True:
            async with s.transaction():
                applied = await _lock_and_read(s, owner, lock_timeout, ddl_lock_timeout)
                _verify(files, applied)
                pending = _pending(files, applied, to)
                if not pending:
                    return done
                nxt = pending[0]
                sql = nxt.up_sql()
                if not no_transaction(sql):
                    await _apply(s, nxt, sql)
            if no_transaction(sql):
                await _apply_outside(
                    s,
                    nxt,
                    sql,
                    owner=owner,
                    lock_wait_s=lock_timeout,
                    ddl_lock_timeout=ddl_lock_timeout,
                )
            done.append(nxt.version)


async def down(
    config: DataApi,
    directory: str | Path,
    *,
    to: int,
    role: str | None,
    lock_timeout: float,
    ddl_lock_timeout: float,
) -> list[int]:
    """Revert applied files above ``to``, newest first, one Data API transaction each."""
    files = load_directory(directory)
    by_version = {f.version: f for f in files}
    owner = role or DEFAULT_OWNER_ROLE
    done: list[int] = []
    async with _session(config) as s:
        while True:
            async with s.transaction():
                applied = await _lock_and_read(s, owner, lock_timeout, ddl_lock_timeout)
                _verify(files, applied)
                doomed = _doomed(applied, to)
                if not doomed:
                    return done
                nxt = by_version[doomed[0]]
                sql = nxt.down_sql()
                if not no_transaction(sql):
                    await _run_script(s, nxt.down_path, sql, transactional=True)
                    await _forget(s, nxt)
            if no_transaction(sql):
                await _run_script(s, nxt.down_path, sql, transactional=False)
                async with s.transaction():
                    await _lock_and_read(s, owner, lock_timeout, ddl_lock_timeout)
                    await _forget(s, nxt)
            done.append(nxt.version)


async def status(config: DataApi, directory: str | Path) -> list[MigrationStatus]:
    """Every known version, from the files and the tracking table (autocommitted reads)."""
    files = {f.version: f for f in load_directory(directory)}
    async with _session(config) as s:
        try:
            applied = await _read(s)
        except QueryError as exc:
            raise MigrationError(
                f"cannot read {TRACKING_TABLE}: SQLSTATE {exc.sqlstate}: {exc.message}",
                sqlstate=exc.sqlstate,
            ) from exc
    return _statuses(files, applied)


# -- one file's transaction --------------------------------------------------------------------
class _session:  # noqa: N801 - used like a function: ``async with _session(config) as s``
    """A DataApiSession whose bookkeeping errors leave as MigrationError."""

    def __init__(self, config: DataApi) -> None:
        self._s = DataApiSession(config)

    async def __aenter__(self) -> DataApiSession:
        return await self._s.__aenter__()

    async def __aexit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        await self._s.__aexit__(exc_type, exc, tb)
        if isinstance(exc, TenantDBError) and not isinstance(exc, MigrationError):
            sqlstate = getattr(exc, "sqlstate", None)
            raise MigrationError(
                f"migration bookkeeping over the Data API failed: "
                f"{'SQLSTATE ' + sqlstate + ': ' if sqlstate else ''}{exc}",
                sqlstate=sqlstate,
            ) from exc


async def _lock_and_read(
    s: DataApiSession, owner: str, lock_wait_s: float, ddl_lock_timeout: float
) -> dict[int, _Applied]:
    """Take the transaction advisory lock, then read the tracking table under it."""
    await _poll_lock(s, "SELECT pg_try_advisory_xact_lock($1)", lock_wait_s)
    await s.execute(f"SET LOCAL lock_timeout = '{_millis(ddl_lock_timeout)}'")
    await _set_role(s, owner, local=True)
    await s.execute(_CREATE_TRACKING)
    return await _read(s)


async def _read(s: DataApiSession) -> dict[int, _Applied]:
    if await s.fetchval("SELECT to_regclass($1)::text", TRACKING_TABLE) is None:
        return {}
    return {int(r["version"]): _applied_row(r) for r in await s.fetch(_READ_TRACKING)}


def _applied_row(r: dict[str, Any]) -> _Applied:
    # applied_at::text is "YYYY-MM-DD HH:MM:SS.ffffff+00" (the session's TimeZone is UTC).
    stamp = datetime.fromisoformat(str(r["applied_at"]))
    return _Applied(
        version=int(r["version"]),
        name=str(r["name"]),
        checksum=str(r["checksum"]),
        applied_at=stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC),
        duration_ms=float(r["duration_ms"]),
    )


async def _apply(s: DataApiSession, migration: MigrationFile, sql: str) -> None:
    start = time.perf_counter()
    await _run_script(s, migration.up_path, sql, transactional=True)
    await _record(s, migration, (time.perf_counter() - start) * 1000)


async def _apply_outside(
    s: DataApiSession,
    migration: MigrationFile,
    sql: str,
    *,
    owner: str,
    lock_wait_s: float,
    ddl_lock_timeout: float,
) -> None:
    """A no-transaction file: autocommitted statements, then the row under the lock."""
    start = time.perf_counter()
    await _run_script(s, migration.up_path, sql, transactional=False)
    async with s.transaction():
        applied = await _lock_and_read(s, owner, lock_wait_s, ddl_lock_timeout)
        if migration.version not in applied:
            await _record(s, migration, (time.perf_counter() - start) * 1000)


async def _run_script(s: DataApiSession, path: Path, sql: str, *, transactional: bool) -> None:
    """One ExecuteStatement per statement (the Data API rejects multi-statement SQL)."""
    for offset, statement in _statements(path, sql):
        try:
            if transactional:
                await s.execute(statement)
            else:
                await s.execute_autocommit(statement)
        except TenantDBError as exc:
            raise _migration_error(path, sql, offset, exc, transactional=transactional) from exc


def _migration_error(
    path: Path, sql: str, offset: int, exc: TenantDBError, *, transactional: bool
) -> MigrationError:
    line_no, line = _line_at(sql, offset + 1)
    sqlstate: str | None = getattr(exc, "sqlstate", None)
    text = getattr(exc, "message", None) or str(exc)
    detail = _details(exc, ("detail", "hint"))
    code = f"SQLSTATE {sqlstate}: " if sqlstate else f"{type(exc).__name__}: "
    return MigrationError(
        f"{path.name} {_outcome(transactional)}: {code}{text} at line {line_no}: {line}{detail}",
        path=str(path),
        sqlstate=sqlstate,
        position=offset + 1,
    )
