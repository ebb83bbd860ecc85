"""Issue 13, part 5: a PostgreSQL restart under load, on both lanes, loses no acknowledged
write, writes nothing twice, crosses no tenant, raises only typed errors, and the lane serves
again on its own once the server is back (the fault trial's scenario, in our own suite).

The server is durable (``LocalPostgres(durable=True)``: fsync and synchronous commit on) and
restarts on the same port; the Data API lane goes through a gateway over the same server.
"""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest
from fix_database import ITEMS_SCHEMA, new_tenant
from fix_lanes import FAST_RETRY, data_api_lane

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDataApi, LocalPostgres
from tenantdb.query import Command, Param, Query

INSERT_ITEM: Query[Any] = Query(
    name="InsertItem",
    command=Command.EXEC,
    sql="INSERT INTO items (tenant_id, id, name) VALUES ($1, $2, $3)",
    data_api_sql="INSERT INTO items (tenant_id, id, name) VALUES (:tenant_id::uuid, :id, :name)",
    params=(
        Param(name="tenant_id", number=1, pg_type="uuid"),
        Param(name="id", number=2, pg_type="int4"),
        Param(name="name", number=3, pg_type="text"),
    ),
)
WORKERS = 12
TENANTS = 4
BEFORE, AFTER = 60, 60  # acknowledged writes to see before the restart and after it


async def _load(
    db: Database, pg: LocalPostgres
) -> tuple[set[tuple[str, int]], list[BaseException]]:
    tenants = [new_tenant() for _ in range(TENANTS)]
    acked: set[tuple[str, int]] = set()
    seen: list[BaseException] = []
    stop = anyio.Event()
    restarted = anyio.Event()
    after_restart = 0

    async def worker(w: int) -> None:
        nonlocal after_restart
        tenant = tenants[w % TENANTS]
        i = 0
        while not stop.is_set():
            i += 1
            key = w * 1_000_000 + i
            try:
                async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                    await tx.exec(INSERT_ITEM, (tenant, key, f"{tenant}/{key}"))
            except errors.TenantDBError as exc:
                seen.append(exc)
                await anyio.sleep(0.02)
                continue
            acked.add((tenant, key))
            if restarted.is_set():
                after_restart += 1

    async def chaos() -> None:
        with anyio.fail_after(60):
            while len(acked) < BEFORE:  # noqa: ASYNC110 - waiting for load, not a state
                await anyio.sleep(0.01)
            await pg.restart(mode="fast")
            restarted.set()
            while after_restart < AFTER:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        stop.set()

    async with anyio.create_task_group() as tg:
        for w in range(WORKERS):
            tg.start_soon(worker, w)
        tg.start_soon(chaos)
    return acked, seen


@pytest.mark.parametrize("kind", ["asyncpg", "data_api"])
async def test_a_restart_under_load_loses_no_acknowledged_write(kind: str) -> None:
    async with LocalPostgres(durable=True) as pg:
        su = await asyncpg.connect(pg.superuser_dsn)
        try:
            await su.execute(ITEMS_SCHEMA)
        finally:
            await su.close()
        async with LocalDataApi(pg) as gateway:
            tenant: Any = pg.tenant_dsn if kind == "asyncpg" else gateway.config
            options = PoolOptions(max_size=6, acquire_timeout=30.0)
            async with Database(admin=pg.admin_dsn, tenant=tenant, pool=options) as db:
                if kind == "data_api":
                    data_api_lane(db).retry = FAST_RETRY
                acked, seen = await _load(db, pg)
            conn = await asyncpg.connect(pg.admin_dsn)
            try:
                rows = await conn.fetch("SELECT tenant_id::text, id, name FROM items")
            finally:
                await conn.close()
    stored = {(r["tenant_id"], r["id"]) for r in rows}
    assert acked <= stored  # no acknowledged write lost
    assert len(rows) == len(stored)  # nothing written twice
    assert all(r["name"] == f"{r['tenant_id']}/{r['id']}" for r in rows)  # no tenant crossed
    assert all(isinstance(e, errors.TenantDBError) for e in seen)  # every error typed
    assert seen, "the restart must have been felt"
    assert not [e for e in seen if isinstance(e, errors.QueryError) and e.sqlstate is None]
