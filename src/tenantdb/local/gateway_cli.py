"""``tenantdb gateway``: the local RDS Data API gateway in the foreground.

Starts an embedded PostgreSQL (or uses an existing server through ``--dsn``), then the gateway,
and prints the ARNs, the endpoint and the environment variables a Data-API-only deployment
reads. With ``--faults`` it also mounts fault control over HTTP, guarded by a random token it
prints (any local process could otherwise drop other callers' transactions)::

    curl -X POST $AWS_ENDPOINT_URL_RDS_DATA/_tenantdb/faults \
        -H "x-tenantdb-fault-token: $TOKEN" -d '{"fault":"resuming","times":2}'
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import signal
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit, urlunsplit

import anyio

from tenantdb.local.dataapi import LocalDataApi
from tenantdb.local.dataapi._gateway import FAULT_TOKEN_HEADER, PostgresServer
from tenantdb.local.postgres import LocalPostgres

__all__ = ("add_arguments", "run")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="keep the embedded cluster here (under a temp dir)")
    parser.add_argument("--database", default="tenantdb", help="default database name")
    parser.add_argument("--port", type=int, default=0, help="gateway port (default: random)")
    parser.add_argument(
        "--dsn",
        help="use this PostgreSQL server instead of an embedded one; its user is replaced by "
        "the tenant/admin role of the secret (the roles must exist and accept the connection)",
    )
    parser.add_argument("--statement-timeout", type=float, default=45.0)
    parser.add_argument("--transaction-idle-timeout", type=float, default=180.0)
    parser.add_argument("--max-connections", type=int, default=100)
    parser.add_argument(
        "--faults",
        action="store_true",
        help="mount /_tenantdb/faults (fault injection for tests), guarded by a printed token",
    )


async def run(args: argparse.Namespace) -> int:
    token = secrets.token_urlsafe(24) if args.faults else None
    async with (
        _server(args) as pg,
        LocalDataApi(
            pg,
            port=args.port,
            statement_timeout=args.statement_timeout,
            transaction_idle_timeout=args.transaction_idle_timeout,
            max_connections=args.max_connections,
            fault_token=token,
        ) as gw,
    ):
        print(f"endpoint:          {gw.endpoint_url}")
        print(f"resource ARN:      {gw.resource_arn}")
        print(f"tenant secret ARN: {gw.tenant_secret_arn}")
        print(f"admin secret ARN:  {gw.admin_secret_arn}")
        print("\n# environment for a Data-API-only deployment (tenant lane):")
        print("USE_DATA_API=true")
        print(f"DB_CLUSTER_ARN={gw.resource_arn}")
        print(f"DB_SECRET_ARN={gw.tenant_secret_arn}")
        print(f"DATABASE_NAME={pg.name}")
        print(f"AWS_REGION={gw.region}")
        print(f"AWS_ENDPOINT_URL_RDS_DATA={gw.endpoint_url}")
        print("AWS_ACCESS_KEY_ID=local")
        print("AWS_SECRET_ACCESS_KEY=local")
        if token is None:
            print("\nfault control: off (start with --faults)   Ctrl-C stops.", flush=True)
        else:
            print(
                f"\nfault control: {gw.endpoint_url}/_tenantdb/faults   "
                f"header {FAULT_TOKEN_HEADER}: {token}   Ctrl-C stops.",
                flush=True,
            )
        await _until_stopped()
    print("stopped.", flush=True)
    return 0


async def _until_stopped() -> None:
    """Ctrl-C or SIGTERM: leave the context managers so PostgreSQL shuts down cleanly."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            return


@contextlib.asynccontextmanager
async def _server(args: argparse.Namespace) -> AsyncIterator[PostgresServer]:
    if args.dsn:
        yield _DsnServer(args.dsn)
        return
    async with LocalPostgres(args.data_dir, database=args.database) as pg:
        yield pg


class _DsnServer:
    """An existing server: the role and database are substituted into ``dsn``."""

    def __init__(self, dsn: str) -> None:
        self._parts = urlsplit(dsn)
        self.name = self._parts.path.lstrip("/") or "postgres"

    def dsn(self, role: str, database: str | None = None) -> str:
        host = self._parts.hostname or "127.0.0.1"
        port = f":{self._parts.port}" if self._parts.port else ""
        netloc = f"{quote(role)}@{host}{port}"
        path = "/" + quote(database or self.name)
        return urlunsplit((self._parts.scheme, netloc, path, self._parts.query, ""))
