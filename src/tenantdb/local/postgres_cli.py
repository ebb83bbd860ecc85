"""``tenantdb postgres``: an embedded PostgreSQL in the foreground, printing its DSNs."""

from __future__ import annotations

import argparse

import anyio

from tenantdb.local.postgres import LocalPostgres

__all__ = ("add_arguments", "run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="keep the cluster here (under a temp or cache dir)")
    parser.add_argument("--database", default="tenantdb")


async def run(args: argparse.Namespace) -> int:
    async with LocalPostgres(args.data_dir, database=args.database) as pg:
        print(f"DATABASE_URL={pg.admin_dsn}")
        print(f"TENANT_DATABASE_URL={pg.tenant_dsn}")
        print("Ctrl-C stops the server.", flush=True)
        await anyio.sleep_forever()
    return 0
