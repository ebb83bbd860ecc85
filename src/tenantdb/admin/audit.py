"""Catalog audit of a live database's RLS setup: the invariants I-1…I-7 of RLS.md §5.

Run it as the admin role (catalog reads need no tenant context); the checks "as the tenant
role" use ``has_*_privilege``/``pg_has_role`` on its name, and, when a tenant-role connection
is given, ``row_security_active`` as that role. Tables are found by their tenant column, not by
their policies, so a forgotten table is a finding, not an omission.

Example::

    findings = await tenantdb.audit.audit(admin_conn, tenant_role="app_tenant")
    for f in findings:
        print(f.code, f.object, f.message, f.fix)

``tenantdb doctor`` prints the same findings and exits 1 when there is any.

Over the RDS Data API (Data-API-only deployments): pass ``tenantdb.DataApi`` values instead of
connections, ``conn`` with the admin secret and ``tenant_conn`` with the tenant secret; the
catalog queries then run as autocommitted ExecuteStatement calls. ``tenantdb doctor`` does
this with ``--data-api`` or ``USE_DATA_API=true`` (``DB_ADMIN_SECRET_ARN`` for the catalog,
``DB_SECRET_ARN`` for the tenant-role check).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from tenantdb.admin.audit_checks import Finding, Queries, version_findings
from tenantdb.admin.session import (
    AdminSql,
    DataApiSession,
    admin_target,
    tenant_data_api_from_env,
)
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.errors import ConfigurationError, TenantDBError

__all__ = ("Finding", "add_arguments", "audit", "run")


async def audit(
    conn: asyncpg.Connection | AdminSql | DataApi,
    *,
    tenant_role: str = "app_tenant",
    tenant_conn: asyncpg.Connection | AdminSql | DataApi | None = None,
    tenant_column: str = "tenant_id",
    registry_table: str = "tenants",
    definer_allowlist: Collection[str] = (),
) -> list[Finding]:
    """Every finding on the database ``conn`` is connected to (admin role recommended).

    ``tenant_conn`` (a connection as the tenant role) adds the ``row_security_active``
    check and the behavioural probe (no tenant, and a tenant that owns nothing, must see no
    row of any tenant table; docs/security.md); ``definer_allowlist`` names reviewed
    SECURITY DEFINER functions (``schema.name``) that are allowed to exist. Either
    connection may be a ``tenantdb.DataApi`` (admin secret / tenant secret) instead.
    """
    if isinstance(conn, DataApi) or isinstance(tenant_conn, DataApi):
        async with _data_api(conn) as admin, _data_api(tenant_conn) as tenant:
            return await audit(
                admin,
                tenant_role=tenant_role,
                tenant_conn=tenant,
                tenant_column=tenant_column,
                registry_table=registry_table,
                definer_allowlist=definer_allowlist,
            )
    if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", tenant_role):
        return [
            Finding(
                "I-1",
                f"role {tenant_role}",
                "the tenant role does not exist",
                "create it: see docs/schema.md, 'Roles'",
            )
        ]
    q = Queries(conn, tenant_role, tenant_column)
    return [
        *await q.role(),
        *await q.tables(),
        *await q.partitions(),
        *(await q.row_security(tenant_conn) if tenant_conn is not None else []),
        *await q.policies(),
        *await q.keys(),
        *await q.grants(registry_table),
        *await q.objects(set(definer_allowlist)),
        *version_findings(int(await conn.fetchval("SELECT current_setting('server_version_num')"))),
    ]


@asynccontextmanager
async def _data_api(target: Any) -> AsyncIterator[Any]:
    """A DataApiSession for a DataApi value; anything else passes through unchanged."""
    if not isinstance(target, DataApi):
        yield target
        return
    async with DataApiSession(target) as session:
        yield session


# -- tenantdb doctor --------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``tenantdb doctor [--dsn ADMIN_DSN] [--tenant-dsn TENANT_DSN] [--tenant-role NAME]``."""
    parser.add_argument("--dsn", default=None, help="admin DSN (default: $DATABASE_URL)")
    parser.add_argument(
        "--tenant-dsn",
        default=None,
        help="tenant-role DSN (default: $TENANT_DATABASE_URL; optional)",
    )
    parser.add_argument(
        "--tenant-role",
        default=None,
        help="tenant role name (default: the tenant DSN's user, else app_tenant)",
    )
    parser.add_argument(
        "--allow-definer",
        action="append",
        default=[],
        metavar="SCHEMA.NAME",
        help="a reviewed SECURITY DEFINER function (repeatable)",
    )
    parser.add_argument(
        "--data-api",
        action="store_true",
        help="over the RDS Data API (also USE_DATA_API=true): DB_CLUSTER_ARN, "
        "DB_ADMIN_SECRET_ARN, DATABASE_NAME, AWS_REGION; DB_SECRET_ARN for the tenant check",
    )


async def run(args: argparse.Namespace) -> int:
    """Print every finding with its fix; 1 when there is any, 0 when clean."""
    try:
        dsn = admin_target(args.dsn, data_api=getattr(args, "data_api", False))
    except ConfigurationError as exc:
        print(f"tenantdb doctor: {exc}", file=sys.stderr)
        return 2
    if not dsn:
        print("tenantdb doctor: no database: pass --dsn or set DATABASE_URL", file=sys.stderr)
        return 2
    if isinstance(dsn, DataApi):
        tenant_api = tenant_data_api_from_env()
        role = args.tenant_role or "app_tenant"
        try:
            findings = await audit(
                dsn, tenant_role=role, tenant_conn=tenant_api, definer_allowlist=args.allow_definer
            )
        except TenantDBError as exc:
            print(f"tenantdb doctor: cannot audit: {exc}", file=sys.stderr)
            return 2
        return _report(findings)
    tenant_dsn = args.tenant_dsn or os.environ.get("TENANT_DATABASE_URL")
    role = args.tenant_role or (urlsplit(tenant_dsn).username if tenant_dsn else None)
    try:
        findings = await _run_audit(dsn, tenant_dsn, role or "app_tenant", args.allow_definer)
    except (OSError, asyncpg.PostgresError, ConfigurationError) as exc:
        print(f"tenantdb doctor: cannot audit: {exc}", file=sys.stderr)
        return 2
    return _report(findings)


def _report(findings: list[Finding]) -> int:
    for f in findings:
        print(f"{f.code} {f.object}: {f.message}\n    fix: {f.fix}")
    print(f"{len(findings)} finding(s)" if findings else "no findings: RLS setup looks sound")
    return 1 if findings else 0


async def _run_audit(
    dsn: str, tenant_dsn: str | None, role: str, allow: list[str]
) -> list[Finding]:
    conn = await asyncpg.connect(dsn, timeout=10)
    tenant = await asyncpg.connect(tenant_dsn, timeout=10) if tenant_dsn else None
    try:
        return await audit(conn, tenant_role=role, tenant_conn=tenant, definer_allowlist=allow)
    finally:
        await conn.close()
        if tenant is not None:
            await tenant.close()
