"""``tenantdb migrate up|down|status|create``."""

from __future__ import annotations

import argparse
import sys

from tenantdb.admin.migrate._api import down, status, up
from tenantdb.admin.migrate._bookkeeping import DEFAULT_OWNER_ROLE, MigrationStatus
from tenantdb.admin.migrate._create import create
from tenantdb.admin.migrate._errors import MigrationError
from tenantdb.admin.session import admin_target
from tenantdb.errors import ConfigurationError

__all__ = ("add_arguments", "run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Actions up/down/status/create; each takes only the options that apply to it."""
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--dir", default="schema", help="migrations directory (default: schema)")
    database = argparse.ArgumentParser(add_help=False)
    database.add_argument("--dsn", default=None, help="admin role DSN (default: $DATABASE_URL)")
    database.add_argument(
        "--data-api",
        action="store_true",
        help="over the RDS Data API (also USE_DATA_API=true): DB_CLUSTER_ARN, "
        "DB_ADMIN_SECRET_ARN (never the tenant secret), DATABASE_NAME, AWS_REGION",
    )
    running = argparse.ArgumentParser(add_help=False)
    running.add_argument(
        "--role",
        default=DEFAULT_OWNER_ROLE,
        help=f"role that owns what migrations create (default: {DEFAULT_OWNER_ROLE})",
    )
    running.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for another migrator (default: 60)",
    )
    running.add_argument(
        "--ddl-lock-timeout",
        type=float,
        default=30.0,
        help="seconds a statement may wait for a table lock (default: 30)",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_up = sub.add_parser("up", parents=[where, database, running], help="apply pending migrations")
    p_up.add_argument("--to", type=int, default=None, help="stop after this version")
    p_down = sub.add_parser(
        "down", parents=[where, database, running], help="roll back to a version"
    )
    p_down.add_argument("--to", type=int, required=True, help="target version (0: all)")
    sub.add_parser("status", parents=[where, database], help="list versions and their state")
    p_create = sub.add_parser(
        "create", parents=[where], help="write the next-numbered up/down pair"
    )
    p_create.add_argument("name", help="migration name: lowercase letters, digits, underscores")
    p_create.add_argument(
        "--tenant-table",
        default=None,
        metavar="TABLE",
        help="write a new tenant-scoped table with the RLS boilerplate (policy, FORCE, grants, "
        "tenant-leading index)",
    )
    p_create.add_argument(
        "--tenant-role",
        default="app_tenant",
        help="role the policy and grants are for (default: app_tenant)",
    )


async def run(args: argparse.Namespace) -> int:
    """Run one action; a refused or failed migration prints the error and returns 1."""
    try:
        return await _dispatch(args)
    except ConfigurationError as exc:  # MigrationError, or an incomplete Data API setup
        print(f"tenantdb migrate: {exc}", file=sys.stderr)
        return 1


async def _dispatch(args: argparse.Namespace) -> int:
    if args.action == "create":
        for path in create(
            args.dir, args.name, tenant_table=args.tenant_table, tenant_role=args.tenant_role
        ):
            print(path)
        return 0
    dsn = admin_target(args.dsn, data_api=args.data_api)
    if not dsn:
        raise MigrationError(
            "no database: pass --dsn or set DATABASE_URL (or USE_DATA_API=true with "
            "DB_CLUSTER_ARN, DB_ADMIN_SECRET_ARN, DATABASE_NAME)"
        )
    if args.action == "status":
        _print_status(await status(dsn, args.dir))
        return 0
    # up and down take the same options; only the direction and the wording differ.
    step, verb = (up, "applied") if args.action == "up" else (down, "rolled back")
    done = await step(
        dsn,
        args.dir,
        to=args.to,
        role=args.role,
        lock_timeout=args.lock_timeout,
        ddl_lock_timeout=args.ddl_lock_timeout,
    )
    print(f"{verb} {len(done)} migration(s): {_versions(done)}")
    return 0


def _versions(versions: list[int]) -> str:
    return ", ".join(str(v) for v in versions) or "none"


def _print_status(rows: list[MigrationStatus]) -> None:
    print(f"{'version':>7}  {'state':<12}  {'applied_at':<32}  name")
    for r in rows:
        applied = r.applied_at.isoformat() if r.applied_at else "-"
        print(f"{r.version:>7}  {r.state:<12}  {applied:<32}  {r.name}")
