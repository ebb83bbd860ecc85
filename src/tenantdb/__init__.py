"""tenantdb: typed, async, multi-tenant data access for PostgreSQL.

Generated query functions run on an executor from ``Database.tenant(ctx)`` (one RLS
transaction) or ``Database.admin()``; see the README for the whole picture.
"""

from tenantdb import errors
from tenantdb.errors import ConfigurationError, TenantDBError

__version__ = "0.1.0"

__all__ = (
    "ConfigurationError",
    "TenantDBError",
    "__version__",
    "errors",
)
