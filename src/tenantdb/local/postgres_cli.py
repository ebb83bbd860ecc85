"""``tenantdb postgres``: a local PostgreSQL in the foreground, printing its connection strings.

The output is valid shell (``export`` lines and ``#`` comments). Ctrl-C or SIGTERM stops
the server and removes a throwaway cluster's directory.
"""

from __future__ import annotations

import argparse
import shlex
import signal
from collections.abc import AsyncIterator
from typing import Any

import anyio

from tenantdb.local.postgres import LocalPostgres

__all__ = ("add_arguments", "run", "stop_signals", "until_stopped")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="keep the cluster in this directory between runs (default: a throwaway one); "
        "use a temp or cache directory",
    )
    parser.add_argument(
        "--database", default="tenantdb", help="name of the database to create (default: tenantdb)"
    )
    parser.add_argument(
        "--port", type=int, default=0, help="port on 127.0.0.1 (default: a free random port)"
    )


def stop_signals() -> Any:
    """Ctrl-C and SIGTERM as a stream, opened before any server starts: a signal that arrives
    while a server is starting is handled once it runs (no orphan, no traceback)."""
    return anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM)


async def until_stopped(signals: AsyncIterator[int]) -> None:
    async for _ in signals:
        return


async def run(args: argparse.Namespace) -> int:
    with stop_signals() as signals:
        async with LocalPostgres(args.data_dir, database=args.database, port=args.port) as pg:
            print(f"export DATABASE_URL={shlex.quote(pg.admin_dsn)}  # admin role (BYPASSRLS)")
            print(f"export TENANT_DATABASE_URL={shlex.quote(pg.tenant_dsn)}  # tenant role (RLS)")
            print(f"# superuser: {pg.superuser_dsn}")
            print(f"# data directory: {pg.data_dir}")
            print("# Ctrl-C or SIGTERM stops the server.", flush=True)
            await until_stopped(signals)
    print("# stopped.", flush=True)
    return 0
