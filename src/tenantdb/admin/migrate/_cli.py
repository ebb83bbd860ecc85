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
    """Subcommands up/down/status/create, each with --dsn, --dir and --role."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--dsn", default=None, help="admin DSN (default: $DATABASE_URL)")
    common.add_argument("--dir", default="schema", help="migrations directory (default: schema)")
    common.add_argument(
        "--data-api",
        action="store_true",
        help="over the RDS Data API (also USE_DATA_API=true): DB_CLUSTER_ARN, "
        "DB_ADMIN_SECRET_ARN (never the tenant secret), DATABASE_NAME, AWS_REGION",
    )
    common.add_argument(
        "--role",
        default=DEFAULT_OWNER_ROLE,
        help=f"owner role set for each migration (default: {DEFAULT_OWNER_ROLE})",
    )
    common.add_argument(
        "--lock-timeout",
        type=float,
        default=60.0,
        help="seconds to wait for another migrator (default: 60)",
    )
    common.add_argument(
        "--ddl-lock-timeout",
        type=float,
        default=30.0,
        help="seconds a statement may wait for a table lock (default: 30)",
    )
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_up = sub.add_parser("up", parents=[common], help="apply pending migrations")
    p_up.add_argument("--to", type=int, default=None, help="stop after this version")
    p_down = sub.add_parser("down", parents=[common], help="roll back to a version")
    p_down.add_argument("--to", type=int, required=True, help="target version (0: all)")
    sub.add_parser("status", parents=[common], help="list versions and their state")
    p_create = sub.add_parser("create", parents=[common], help="write an empty up/down pair")
    p_create.add_argument("name")


async def run(args: argparse.Namespace) -> int:
    """Run one action; a refused or failed migration prints the error and returns 1."""
    try:
        return await _dispatch(args)
    except ConfigurationError as exc:  # MigrationError, or an incomplete Data API setup
        print(f"tenantdb migrate: {exc}", file=sys.stderr)
        return 1


async def _dispatch(args: argparse.Namespace) -> int:
    if args.action == "create":
        for path in create(args.dir, args.name):
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
