"""``up``, ``down`` and ``status``: the public entry points, one runner per transport.

A DSN runs on asyncpg (``_runner``: session advisory lock); a ``tenantdb.DataApi`` with the
*admin* secret runs over the Data API (``_dataapi_runner``: one Data API transaction per file
under a transaction advisory lock). Both share ``_bookkeeping``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from tenantdb.admin.migrate import _dataapi_runner, _runner
from tenantdb.admin.migrate._bookkeeping import MigrationStatus
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.postgres import Postgres

__all__ = ("down", "status", "up")


async def up(
    dsn: str | Postgres | DataApi,
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
    file runs in its own Data API transaction under a transaction advisory lock.

    Example::

        await tenantdb.migrate.up(os.environ["DATABASE_URL"], "schema")
    """
    run = partial(_dataapi_runner.up, dsn) if isinstance(dsn, DataApi) else partial(_runner.up, dsn)
    return await run(
        directory,
        to=to,
        role=role,
        lock_timeout=lock_timeout,
        ddl_lock_timeout=ddl_lock_timeout,
    )


async def down(
    dsn: str | Postgres | DataApi,
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
    run = (
        partial(_dataapi_runner.down, dsn)
        if isinstance(dsn, DataApi)
        else partial(_runner.down, dsn)
    )
    return await run(
        directory,
        to=to,
        role=role,
        lock_timeout=lock_timeout,
        ddl_lock_timeout=ddl_lock_timeout,
    )


async def status(dsn: str | Postgres | DataApi, directory: str | Path) -> list[MigrationStatus]:
    """Every known version, from the files and the tracking table, in version order.

    ``dsn`` may be a ``tenantdb.DataApi`` (admin secret), as for ``up``."""
    if isinstance(dsn, DataApi):
        return await _dataapi_runner.status(dsn, directory)
    return await _runner.status(dsn, directory)
