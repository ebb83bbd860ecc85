"""tenantdb: typed, async, multi-tenant data access for PostgreSQL.

Generated query functions run on an executor from ``Database.tenant(ctx)`` (one RLS
transaction) or ``Database.admin()``::

    db = tenantdb.Database(admin=ADMIN_DSN, tenant=TENANT_DSN)   # or tenant=tenantdb.DataApi(...)
    async with db:
        ctx = tenantdb.TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        async with db.tenant(ctx) as tx:
            booking = await bookings.get_booking(tx, id=booking_id)
"""

from tenantdb import errors
from tenantdb.codecs import JsonValue
from tenantdb.context import (
    TENANT_SETTING,
    USER_SETTING,
    IdValidator,
    OpaqueId,
    SlugId,
    TenantContext,
    UuidId,
    bind_context,
    context_from_headers,
    current_context,
    current_context_or_none,
    opaque_id,
    slug_id,
    uuid_id,
)
from tenantdb.database import Database, Health, PoolUsage
from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.drivers.asyncpg.replicas import ReplicaOptions, ReplicaStatus
from tenantdb.drivers.base import Executor
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.drivers.dataapi.retry import RetryPolicy
from tenantdb.drivers.fair import TenantWaits
from tenantdb.drivers.lane import Isolation, PoolOptions, Transaction
from tenantdb.emf import EmfExporter
from tenantdb.errors import (
    ConfigurationError,
    ContextError,
    DatabaseClosedError,
    QueryError,
    TenantDBError,
    TransactionTimeoutError,
    TransportError,
)
from tenantdb.observe import Metrics, MetricsSnapshot, Observer, QueryStats, TenantStats
from tenantdb.otel import OtelObserver
from tenantdb.postgres import Postgres
from tenantdb.query import Column, Command, ExecResult, Param, Query
from tenantdb.web.asgi import TenantContextMiddleware, current_claims
from tenantdb.web.jwt import JwtVerifier, VerifiedToken

__version__ = "0.1.0"

__all__ = (
    "TENANT_SETTING",
    "USER_SETTING",
    "AsyncpgExecutor",
    "Column",
    "Command",
    "ConfigurationError",
    "ContextError",
    "DataApi",
    "Database",
    "DatabaseClosedError",
    "EmfExporter",
    "ExecResult",
    "Executor",
    "Health",
    "IdValidator",
    "Isolation",
    "JsonValue",
    "JwtVerifier",
    "Metrics",
    "MetricsSnapshot",
    "Observer",
    "OpaqueId",
    "OtelObserver",
    "Param",
    "PoolOptions",
    "PoolUsage",
    "Postgres",
    "Query",
    "QueryError",
    "QueryStats",
    "ReplicaOptions",
    "ReplicaStatus",
    "RetryPolicy",
    "SlugId",
    "TenantContext",
    "TenantContextMiddleware",
    "TenantDBError",
    "TenantStats",
    "TenantWaits",
    "Transaction",
    "TransactionTimeoutError",
    "TransportError",
    "UuidId",
    "VerifiedToken",
    "__version__",
    "bind_context",
    "context_from_headers",
    "current_claims",
    "current_context",
    "current_context_or_none",
    "errors",
    "opaque_id",
    "slug_id",
    "uuid_id",
)
