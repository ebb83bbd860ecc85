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
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import anyio

from tenantdb.local.dataapi import LocalDataApi
from tenantdb.local.dataapi._gateway import FAULT_TOKEN_HEADER, PostgresServer
from tenantdb.local.postgres import LocalPostgres
from tenantdb.local.postgres_cli import stop_signals, until_stopped

__all__ = ("add_arguments", "env_lines", "run")

_DETACH_TIMEOUT_S = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="keep the embedded cluster here (under a temp dir)")
    parser.add_argument(
        "--database", default="tenantdb", help="default database name (default: tenantdb)"
    )
    parser.add_argument("--port", type=int, default=0, help="gateway port (default: random)")
    parser.add_argument(
        "--dsn",
        help="use this PostgreSQL server instead of an embedded one; its user is replaced by "
        "the tenant/admin role of the secret (the roles must exist and accept the connection)",
    )
    parser.add_argument(
        "--statement-timeout",
        type=float,
        default=45.0,
        help="seconds a statement may run, as on AWS (default: 45)",
    )
    parser.add_argument(
        "--transaction-idle-timeout",
        type=float,
        default=180.0,
        help="seconds an idle transaction lives, as on AWS (default: 180)",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=100,
        help="PostgreSQL connections the gateway may open (default: 100)",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="mount /_tenantdb/faults (fault injection for tests), guarded by a printed token",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="start in the background, print only the export lines and exit, like ssh-agent: "
        'eval "$(tenantdb gateway --print-env)"; stop it with kill $TENANTDB_GATEWAY_PID',
    )
    parser.add_argument("--env-file", help=argparse.SUPPRESS)  # the background child's channel


def env_lines(gw: LocalDataApi, database: str) -> list[str]:
    """``export`` lines for a Data-API-only deployment against this gateway."""
    values = {
        "USE_DATA_API": "true",
        "DB_CLUSTER_ARN": gw.resource_arn,
        "DB_SECRET_ARN": gw.tenant_secret_arn,
        "DB_ADMIN_SECRET_ARN": gw.admin_secret_arn,
        "DATABASE_NAME": database,
        "AWS_REGION": gw.region,
        "AWS_ENDPOINT_URL_RDS_DATA": gw.endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    return [f"export {k}={shlex.quote(v)}" for k, v in values.items()]


async def run(args: argparse.Namespace) -> int:
    if args.print_env:
        code: int = await anyio.to_thread.run_sync(_detach, args)
        return code
    token = secrets.token_urlsafe(24) if args.faults else None
    with stop_signals() as signals:
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
            lines = env_lines(gw, pg.name)
            if args.env_file:
                _write_env(Path(args.env_file), lines)
            print(f"# endpoint:          {gw.endpoint_url}")
            print(f"# resource ARN:      {gw.resource_arn}")
            print(f"# tenant secret ARN: {gw.tenant_secret_arn}")
            print(f"# admin secret ARN:  {gw.admin_secret_arn}")
            print("# environment for a Data-API-only deployment (both lanes):")
            print("\n".join(lines))
            if token is None:
                print("# fault control: off (start with --faults).  Ctrl-C stops.", flush=True)
            else:
                print(
                    f"# fault control: {gw.endpoint_url}/_tenantdb/faults   "
                    f"header {FAULT_TOKEN_HEADER}: {token}   Ctrl-C stops.",
                    flush=True,
                )
            await until_stopped(signals)
    print("# stopped.", flush=True)
    return 0


def _write_env(path: Path, lines: list[str]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tmp.replace(path)


def _detach(args: argparse.Namespace) -> int:
    """Start the gateway as a background process, print its environment, return."""
    workdir = Path(tempfile.mkdtemp(prefix="tenantdb-gateway-"))
    env_file, log_file = workdir / "env", workdir / "gateway.log"
    argv = [sys.executable, "-m", "tenantdb.cli", "gateway", "--env-file", str(env_file)]
    for flag in ("data_dir", "database", "port", "dsn", "statement_timeout"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    argv += ["--transaction-idle-timeout", str(args.transaction_idle_timeout)]
    argv += ["--max-connections", str(args.max_connections)]
    if args.faults:
        argv.append("--faults")
    with log_file.open("wb") as log:
        child = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    deadline = time.monotonic() + _DETACH_TIMEOUT_S
    while not env_file.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not env_file.exists():
        if child.poll() is None:
            child.terminate()
        tail = log_file.read_text(errors="replace")[-2000:]
        print(f"tenantdb gateway: the background gateway did not start:\n{tail}", file=sys.stderr)
        return 1
    print(env_file.read_text(encoding="utf-8"), end="")
    print(f"export TENANTDB_GATEWAY_PID={child.pid}")
    print(f"# log: {log_file}; stop with: kill $TENANTDB_GATEWAY_PID", flush=True)
    return 0


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
