"""Migration runner: golang-migrate style files, one transaction each, owner-owned objects.

``NNNN_name.up.sql`` / ``NNNN_name.down.sql`` in one directory (``schema/`` by default; sqlc
reads the same up files). The runner connects as the admin role, takes a session advisory
lock so two migrators never interleave, and runs each file in its own transaction under
``SET LOCAL ROLE <owner>`` (default ``app_owner``) with its tracking row in
``public.tenantdb_migrations``. A file whose first line is ``-- tenantdb:no-transaction`` runs
statement by statement in autocommit (for CREATE INDEX CONCURRENTLY).

Over the RDS Data API (no VPC): pass a ``tenantdb.DataApi`` with the *admin* secret instead of
the DSN (``tenantdb migrate --data-api`` or ``USE_DATA_API=true``): each file then runs in its
own Data API transaction under a transaction advisory lock (docs/dataapi-admin.md).

Example::

    import tenantdb.migrate

    applied = await tenantdb.migrate.up(admin_dsn, "schema")
    await tenantdb.migrate.down(admin_dsn, "schema", to=0)
    for row in await tenantdb.migrate.status(admin_dsn, "schema"):
        print(row.version, row.state)

Refusals (``MigrationError``, a ``ConfigurationError``): an applied file changed, a down file
is missing, a version is duplicated, the database is at a version with no file, or a pending
file is older than the newest applied one. Server errors are wrapped with the file name,
SQLSTATE and line.
"""

from __future__ import annotations

from tenantdb.admin.migrate._api import down, status, up
from tenantdb.admin.migrate._bookkeeping import (
    DEFAULT_OWNER_ROLE,
    TRACKING_TABLE,
    MigrationStatus,
)
from tenantdb.admin.migrate._cli import add_arguments, run
from tenantdb.admin.migrate._create import create
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.migrate._files import NO_TRANSACTION

__all__ = (
    "DEFAULT_OWNER_ROLE",
    "NO_TRANSACTION",
    "TRACKING_TABLE",
    "MigrationError",
    "MigrationStatus",
    "add_arguments",
    "create",
    "down",
    "run",
    "status",
    "up",
)
