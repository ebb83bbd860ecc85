"""Apply and roll back migrations under a session advisory lock, one transaction each.

The runner connects as the admin role and runs every file under ``SET LOCAL ROLE <owner>``
so the objects it creates are owned by the owner role, never by the login role. The
tracking row is written in the same transaction as the migration: a failed file leaves the
database exactly as it was.

What does not depend on the transport (the tracking table's SQL, the advisory-lock poll, which
files to apply or revert, splitting a file into statements, the error text) is written once
here, against ``AdminSql``, and serves the Data API runner (``_dataapi_runner``) too.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import asyncpg
import msgspec

from tenantdb._sqllex import SqlLexError, split_statements
from tenantdb.dataapi_config import DataApi
from tenantdb.migrate._errors import MigrationError
from tenantdb.migrate._files import MigrationFile, load_directory, no_transaction

if TYPE_CHECKING:
    from tenantdb._admin_sql import AdminSql

__all__ = (
    "DEFAULT_OWNER_ROLE",
    "TRACKING_TABLE",
    "MigrationStatus",
    "down",
    "status",
    "up",
)

DEFAULT_OWNER_ROLE = "app_owner"
TRACKING_TABLE = "public.tenantdb_migrations"
# Fixed key of the session advisory lock every tenantdb migrator takes ("tenantdb" in ASCII).
_LOCK_KEY = 0x74656E616E746462
_LOCK_POLL_S = 0.1
_CONNECT_TIMEOUT_S = 10.0
_CREATE_TRACKING = (
    f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} ("
    " version bigint PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " duration_ms double precision NOT NULL)"
)

State = Literal["applied", "pending", "changed", "missing-file"]


class MigrationStatus(msgspec.Struct, frozen=True):
    """One row of ``status``: a file, the database's record of it, or both.

    ``state`` is ``applied``, ``pending`` (file not yet applied), ``changed`` (applied, but the
    up file's sha256 differs from the recorded one) or ``missing-file`` (recorded in the
    database, no file on disk).
    """

    version: int
    name: str
    state: State
    applied_at: datetime | None = None
    duration_ms: float | None = None


class _Applied(msgspec.Struct, frozen=True):
    version: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: float


async def up(
    dsn: str | DataApi,
    directory: str | Path,
    *,
    to: int | None = None,
    role: str | None = None,
    lock_timeout: float = 60.0,
    ddl_lock_timeout: float = 30.0,
) -> list[int]:
    """Apply pending migrations (through version ``to`` when given); return their versions.

    ``lock_timeout`` bounds the wait for another migrator (seconds), ``ddl_lock_timeout``
    each statement's wait for a table lock (SQLSTATE 55P03 when exceeded; rolled back).

    ``dsn`` is the admin DSN, or a ``tenantdb.DataApi`` with the *admin* secret: then each
    file runs in its own Data API transaction under a transaction advisory lock (see
    ``tenantdb.migrate._dataapi_runner``).

    Example::

        await tenantdb.migrate.up(os.environ["DATABASE_URL"], "schema")
    """
    if isinstance(dsn, DataApi):
        from tenantdb.migrate import _dataapi_runner

        return await _dataapi_runner.up(
            dsn,
            directory,
            to=to,
            role=role,
            lock_timeout=lock_timeout,
            ddl_lock_timeout=ddl_lock_timeout,
        )
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
    dsn: str | DataApi,
    directory: str | Path,
    *,
    to: int,
    role: str | None = None,
    lock_timeout: float = 60.0,
    ddl_lock_timeout: float = 30.0,
) -> list[int]:
    """Roll back every applied migration above version ``to`` (``to=0``: all), newest first.

    ``dsn`` may be a ``tenantdb.DataApi`` (admin secret), as for ``up``."""
    if to < 0:
        raise MigrationError(f"down: to must be >= 0, got {to}")
    if isinstance(dsn, DataApi):
        from tenantdb.migrate import _dataapi_runner

        return await _dataapi_runner.down(
            dsn,
            directory,
            to=to,
            role=role,
            lock_timeout=lock_timeout,
            ddl_lock_timeout=ddl_lock_timeout,
        )
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


async def status(dsn: str | DataApi, directory: str | Path) -> list[MigrationStatus]:
    """Every known version, from the files and the tracking table, in version order.

    ``dsn`` may be a ``tenantdb.DataApi`` (admin secret), as for ``up``."""
    if isinstance(dsn, DataApi):
        from tenantdb.migrate import _dataapi_runner

        return await _dataapi_runner.status(dsn, directory)
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


def _statuses(
    files: dict[int, MigrationFile], applied: dict[int, _Applied]
) -> list[MigrationStatus]:
    """One row per version known to the files or the tracking table, in version order."""
    return [_status_of(v, files.get(v), applied.get(v)) for v in sorted({*files, *applied})]


def _status_of(version: int, file: MigrationFile | None, row: _Applied | None) -> MigrationStatus:
    if row is None:
        assert file is not None  # noqa: S101 - the version came from one of the two maps
        return MigrationStatus(version, file.name, "pending")
    state: State = (
        "missing-file"
        if file is None
        else ("applied" if file.checksum == row.checksum else "changed")
    )
    return MigrationStatus(version, row.name, state, row.applied_at, row.duration_ms)


# -- the database side -----------------------------------------------------------------------
async def _connect(dsn: str, *, ddl_lock_timeout: float | None = None) -> asyncpg.Connection:
    settings = {"application_name": "tenantdb-migrate"}
    if ddl_lock_timeout is not None:
        # A DDL statement queued behind a long transaction would otherwise wait forever and
        # block every query behind it; a file may still `SET LOCAL lock_timeout` itself.
        settings["lock_timeout"] = _millis(ddl_lock_timeout)
    try:
        return await asyncpg.connect(
            dsn,
            timeout=_CONNECT_TIMEOUT_S,
            server_settings=settings,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        raise MigrationError(
            f"cannot connect to the database: {exc}", sqlstate=_state(exc)
        ) from exc


@asynccontextmanager
async def _locked(
    dsn: str, lock_wait_s: float, ddl_lock_timeout: float
) -> AsyncIterator[asyncpg.Connection]:
    """A connection holding the migration lock; two migrators never interleave."""
    conn = await _connect(dsn, ddl_lock_timeout=ddl_lock_timeout)
    try:
        await _poll_lock(conn, "SELECT pg_try_advisory_lock($1)", lock_wait_s)
        yield conn
    except asyncpg.PostgresError as exc:
        raise MigrationError(
            f"migration bookkeeping failed: SQLSTATE {exc.sqlstate}: {exc}", sqlstate=exc.sqlstate
        ) from exc
    finally:
        with anyio.CancelScope(shield=True):
            await conn.close()  # closing the session releases the advisory lock


async def _poll_lock(conn: AdminSql, try_lock: str, lock_wait_s: float) -> None:
    """Poll ``try_lock`` (a ``pg_try_advisory[_xact]_lock($1)`` on the migration key) until it
    returns true, for at most ``lock_wait_s`` seconds; then name the backend holding the lock.

    Polling, not a blocking ``pg_advisory_lock`` under a cancel scope: cancelling a running
    query would leave an asyncpg connection in an unknown state, and on the Data API a blocking
    call would run into its 45 s statement limit instead of our ``lock_timeout``.
    """
    deadline = time.monotonic() + lock_wait_s
    while not await conn.fetchval(try_lock, _LOCK_KEY):
        if time.monotonic() >= deadline:
            holder = await conn.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND ((classid::bigint << 32) | objid::bigint) = $1 AND objsubid = 1",
                _LOCK_KEY,
            )
            raise MigrationError(
                f"another migrator (backend pid {holder}) held the migration lock for more "
                f"than {lock_wait_s:g} s; retry later or raise lock_timeout"
            )
        await anyio.sleep(_LOCK_POLL_S)


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


def _verify(files: list[MigrationFile], applied: dict[int, _Applied]) -> None:
    by_version = {f.version: f for f in files}
    for version, row in sorted(applied.items()):
        file = by_version.get(version)
        if file is None:
            raise MigrationError(
                f"the database is at version {version} ({row.name}) but no file "
                f"{version:04d}_{row.name}.up.sql exists: restore the file before migrating"
            )
        if file.checksum != row.checksum:
            raise MigrationError(
                f"{file.up_path.name} changed after it was applied (sha256 {row.checksum[:12]}… "
                f"recorded, {file.checksum[:12]}… on disk): write a new migration instead",
                path=str(file.up_path),
            )


def _pending(
    files: list[MigrationFile], applied: dict[int, _Applied], to: int | None
) -> list[MigrationFile]:
    """The files still to apply (through version ``to``), refused when one is out of order."""
    pending = [f for f in files if f.version not in applied and (to is None or f.version <= to)]
    _refuse_out_of_order(pending, applied)
    return pending


def _doomed(applied: dict[int, _Applied], to: int) -> list[int]:
    """The applied versions ``down`` reverts, newest first."""
    return sorted((v for v in applied if v > to), reverse=True)


def _refuse_out_of_order(pending: list[MigrationFile], applied: dict[int, _Applied]) -> None:
    newest = max(applied, default=0)
    late = [m for m in pending if m.version < newest]
    if late:
        raise MigrationError(
            f"{late[0].up_path.name} is older than the applied version {newest}: renumber it "
            "after the newest migration",
            path=str(late[0].up_path),
        )


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


def _statements(path: Path, sql: str) -> Iterator[tuple[int, str]]:
    """Each statement of a migration file with its character offset in ``sql``."""
    try:
        statements = split_statements(sql)
    except SqlLexError as exc:
        raise MigrationError(
            f"{path.name}: cannot split into statements: {exc}", path=str(path)
        ) from exc
    cursor = 0
    for statement in statements:
        offset = max(sql.find(statement, cursor), 0)
        cursor = offset + len(statement)
        yield offset, statement


async def _record(conn: AdminSql, migration: MigrationFile, duration_ms: float) -> None:
    await conn.execute(
        f"INSERT INTO {TRACKING_TABLE} (version, name, checksum, duration_ms)"
        " VALUES ($1, $2, $3, $4)",
        migration.version,
        migration.name,
        migration.checksum,
        duration_ms,
    )


async def _forget(conn: AdminSql, migration: MigrationFile) -> None:
    await conn.execute(f"DELETE FROM {TRACKING_TABLE} WHERE version = $1", migration.version)


async def _set_role(conn: AdminSql, role: str, *, local: bool) -> None:
    quoted = '"' + role.replace('"', '""') + '"'
    await conn.execute(f"SET {'LOCAL ' if local else ''}ROLE {quoted}")


def _millis(seconds: float) -> str:
    """A ``lock_timeout`` value: whole milliseconds, at least 1 (0 would mean no limit)."""
    return f"{max(int(seconds * 1000), 1)}ms"


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


def _outcome(transactional: bool) -> str:
    """What a failed statement left behind, for the error message."""
    if transactional:
        return "failed and was rolled back"
    return "failed (no-transaction file: the statements before this one stay applied)"


def _line_at(sql: str, position: int) -> tuple[int, str]:
    """The 1-based line number and stripped text of the 1-based character ``position``."""
    line_no = sql.count("\n", 0, position - 1) + 1
    lines = sql.splitlines()
    return line_no, lines[line_no - 1].strip() if line_no <= len(lines) else ""


def _details(exc: BaseException, labels: tuple[str, ...]) -> str:
    """The server's ``detail`` / ``hint`` / ``context`` fields that are set, one line each."""
    return "".join(
        f"\n  {label}: {text}" for label in labels if (text := getattr(exc, label, None))
    )


def _state(exc: BaseException) -> str | None:
    return getattr(exc, "sqlstate", None)
