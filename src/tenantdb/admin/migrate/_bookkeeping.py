"""What both migration runners share: the tracking table, the lock poll, the plan, the errors.

Which files to apply or revert, the tracking table's SQL, the advisory-lock poll, splitting a
file into statements and the error text do not depend on the transport. They are written once
here, against ``AdminSql``, and serve the asyncpg runner (``_runner``) and the Data API runner
(``_dataapi_runner``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
import msgspec

from tenantdb._sqllex import SqlLexError, split_statements
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.migrate._files import MigrationFile

if TYPE_CHECKING:
    from tenantdb.admin.session import AdminSql

__all__ = ("DEFAULT_OWNER_ROLE", "TRACKING_TABLE", "MigrationStatus")

DEFAULT_OWNER_ROLE = "app_owner"


TRACKING_TABLE = "public.tenantdb_migrations"


# Fixed key of the session advisory lock every tenantdb migrator takes ("tenantdb" in ASCII).
_LOCK_KEY = 0x74656E616E746462


_LOCK_POLL_S = 0.1


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
