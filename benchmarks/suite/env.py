"""The servers a run measures against, started here and stopped afterwards.

One embedded PostgreSQL on 127.0.0.1 (random port) with the example schema (``schema/``
through ``tenantdb.migrate``) and ``tenantdb.seed`` data; a TCP delay proxy in front of it for
the network figures; the local Data API gateway in its own process (as Aurora's endpoint is
remote) for the Data API lane. Sections that rewrite the schema (migrations, seeding, the
flatness table) get databases of their own on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from tenantdb.local import LocalPostgres
from tenantdb.migrate import up
from tenantdb.seed import seed

from .config import Config

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "schema"
SIMULATED_RTT_S = 0.0005  # nominal; the event loop sleeps in whole ms, the measured RTT is reported


def configure_logging() -> None:
    """structlog as a service runs it: INFO and above, loggers cached on first use.

    The events that pass the filter (admin transactions) are rendered and written as usual,
    to ``os.devnull`` so they do not interleave with the report.
    """
    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sink),
        cache_logger_on_first_use=True,
    )


@dataclasses.dataclass
class Env:
    """What every section gets: the server, the seeded tenants and a few known rows."""

    cfg: Config
    pg: LocalPostgres
    tenant_ids: list[str]
    user_id: str  # a user of tenant 0
    booking_id: uuid.UUID  # a live booking of tenant 0
    parents: tuple[uuid.UUID, uuid.UUID, uuid.UUID]  # (property, room, guest) of tenant 0
    server_version: str
    total_bookings: int
    extras: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def tenant(self) -> str:
        return self.tenant_ids[0]


@contextlib.asynccontextmanager
async def started(cfg: Config) -> AsyncIterator[Env]:
    async with LocalPostgres() as pg:
        await up(pg.admin_dsn, SCHEMA_DIR)
        summary = await seed(
            pg.admin_dsn,
            tenants=cfg.tenants,
            bookings_per_tenant=cfg.bookings_per_tenant,
            seed=1,
        )
        tenant = summary.tenant_ids[0]
        conn = await asyncpg.connect(pg.admin_dsn)
        try:
            booking = await conn.fetchrow(
                "SELECT id, property_id, room_id, guest_id FROM bookings"
                " WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY check_in, id LIMIT 1",
                tenant,
            )
            user = await conn.fetchval(
                "SELECT id::text FROM users WHERE tenant_id = $1 LIMIT 1", tenant
            )
            version = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        assert booking is not None
        yield Env(
            cfg=cfg,
            pg=pg,
            tenant_ids=list(summary.tenant_ids),
            user_id=user,
            booking_id=booking["id"],
            parents=(booking["property_id"], booking["room_id"], booking["guest_id"]),
            server_version=version,
            total_bookings=summary.counts["bookings"],
        )


def machine_facts() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "loadavg": [round(x, 2) for x in load],
    }


# -- the delay proxy -----------------------------------------------------------------------------
class DelayProxy:
    """TCP proxy adding ``rtt/2`` in each direction: the round-trip count made visible."""

    def __init__(self, host: str, port: int, rtt: float = SIMULATED_RTT_S) -> None:
        self._target = (host, port)
        self._half = rtt / 2
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        self.port = 0

    def dsn(self, role: str, database: str) -> str:
        return f"postgresql://{role}@127.0.0.1:{self.port}/{database}"

    async def __aenter__(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        pumps = [
            asyncio.ensure_future(self._pump(reader, up_writer)),
            asyncio.ensure_future(self._pump(up_reader, writer)),
        ]
        self._tasks.update(pumps)
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
            self._tasks.discard(pump)
        writer.close()
        up_writer.close()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        while data := await reader.read(65536):
            loop.call_at(loop.time() + self._half, writer.write, data)


async def round_trip_us(dsn: str) -> float:
    """The median time of one simple-query round trip (``SELECT 1``) on ``dsn``."""
    conn = await asyncpg.connect(dsn)
    try:
        times = []
        for _ in range(30):
            start = time.perf_counter()
            await conn.execute("SELECT 1")
            times.append((time.perf_counter() - start) * 1e6)
    finally:
        await conn.close()
    return statistics.median(times)


# -- the Data API gateway in its own process ------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Gateway:
    endpoint_url: str
    resource_arn: str
    tenant_secret_arn: str
    database: str
    region: str = "us-east-1"


@contextlib.asynccontextmanager
async def gateway_process(pg: LocalPostgres) -> AsyncIterator[Gateway]:
    """``tenantdb gateway --dsn …`` in a child process; stopped on exit."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from tenantdb.cli import main; raise SystemExit(main())",
        "gateway",
        "--dsn",
        pg.admin_dsn,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    seen: dict[str, str] = {}
    try:
        while "admin secret ARN" not in seen:
            line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
            if not line:
                raise RuntimeError("the gateway process exited before it was ready")
            key, _, value = line.removeprefix("#").partition(":")
            seen[key.strip()] = value.strip()
        yield Gateway(seen["endpoint"], seen["resource ARN"], seen["tenant secret ARN"], pg.name)
    finally:
        proc.terminate()
        await proc.wait()
