"""``tenantdb.migrate``: the stable public path (implementation: ``tenantdb.admin.migrate``)."""

from tenantdb.admin.migrate import (
    DEFAULT_OWNER_ROLE,
    NO_TRANSACTION,
    TRACKING_TABLE,
    MigrationError,
    MigrationStatus,
    add_arguments,
    create,
    down,
    run,
    status,
    up,
)

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
