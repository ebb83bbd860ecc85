"""Graceful shutdown under load, on both tenant lanes: ``db.close()`` refuses new
transactions, lets open ones finish within the drain timeout and rolls back the rest."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import fix_database as fd
import pytest
from fix_database import admin_rows, new_tenant
from fix_ops import MakeOpsDb, both_lanes
from polling import eventually

from tenantdb import PoolOptions, TenantContext
from tenantdb.drivers.lane import Transaction
from tenantdb.errors import DatabaseClosedError
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi

INSERT_ITEM = both_lanes(fd.INSERT_ITEM)
LANES = ("asyncpg", "data_api")


@pytest.mark.parametrize("kind", LANES)
async def test_close_drains_finishing_work_and_rolls_back_the_rest(
    kind: str, make_ops_db: MakeOpsDb, items_pg: LocalDatabase, gateway: LocalDataApi
) -> None:
    """12 transactions on a pool of 4: 10 finish once released (most of them still waiting
    for a connection when close() starts), 2 never would. After close(): the 10 committed,
    the 2 were rolled back and raised DatabaseClosedError, nothing new could start."""
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    release = anyio.Event()
    never = anyio.Event()
    stuck_inside = 0
    outcomes: dict[int, str] = {}
    db = make_ops_db(kind, pool=PoolOptions(max_size=4, acquire_timeout=30.0), drain_timeout=3.0)
    await db.open()
    open_before = gateway.open_transactions  # other tests' leftovers await the idle expiry

    async def unit(item_id: int, gate: anyio.Event) -> None:
        nonlocal stuck_inside

        async def fn(tx: Transaction) -> None:
            nonlocal stuck_inside
            await tx.exec(INSERT_ITEM, (tenant, item_id, f"item-{item_id}"))
            if gate is never:
                stuck_inside += 1
            await gate.wait()

        try:
            await db.run(ctx, fn)
        except DatabaseClosedError:
            outcomes[item_id] = "closed"
        else:
            outcomes[item_id] = "committed"

    async with anyio.create_task_group() as tg:
        for item_id in (101, 102):  # the stuck ones hold a connection each
            tg.start_soon(unit, item_id, never)

        async def both_stuck() -> bool:
            return stuck_inside == 2

        await eventually(both_stuck)
        for item_id in range(1, 11):
            tg.start_soon(unit, item_id, release)
        await anyio.lowlevel.checkpoint()
        closer_done = anyio.Event()

        async def closer() -> None:
            await db.close()
            closer_done.set()

        tg.start_soon(closer)

        async def closing() -> bool:
            return db.closing

        await eventually(closing)
        with pytest.raises(DatabaseClosedError, match="closing or closed"):
            async with db.tenant(ctx):
                pass  # pragma: no cover - refused before any SQL
        with pytest.raises(DatabaseClosedError):
            await db.run(ctx, lambda tx: tx.exec(INSERT_ITEM, (tenant, 999, "late")))
        assert not closer_done.is_set()  # still draining: 12 transactions are in flight
        release.set()
    assert outcomes == {**dict.fromkeys(range(1, 11), "committed"), 101: "closed", 102: "closed"}
    rows = await admin_rows(items_pg.admin_dsn, tenant)
    assert sorted(r[1] for r in rows) == list(range(1, 11))
    snap = db.metrics()
    assert snap.total_transactions == 12
    assert snap.errors == 2
    if kind == "data_api":

        async def none_open() -> bool:
            return gateway.open_transactions <= open_before

        await eventually(none_open)


@pytest.mark.parametrize("kind", LANES)
async def test_leaving_async_with_waits_for_other_tasks_transactions(
    kind: str, make_ops_db: MakeOpsDb, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    inside = anyio.Event()
    go_on = anyio.Event()
    result: list[str] = []

    async def worker(db: Any) -> None:
        async with db.tenant(ctx) as tx:
            await tx.exec(INSERT_ITEM, (tenant, 1, "drained"))
            inside.set()
            await go_on.wait()
        result.append("committed")

    async with anyio.create_task_group() as tg:
        async with make_ops_db(kind) as db:
            tg.start_soon(worker, db)
            await inside.wait()
            tg.start_soon(_set_when_closing, db, go_on)
        # `async with db` returned only after the worker's COMMIT
        assert result == ["committed"]
    assert [r[2] for r in await admin_rows(items_pg.admin_dsn, tenant)] == ["drained"]


async def _set_when_closing(db: Any, event: anyio.Event) -> None:
    async def closing() -> bool:
        return bool(db.closing)

    await eventually(closing)
    event.set()


@pytest.mark.parametrize("kind", LANES)
async def test_zero_drain_timeout_rolls_back_at_once_and_reopen_works(
    kind: str, make_ops_db: MakeOpsDb, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    inside = anyio.Event()
    errors: list[BaseException] = []
    db = make_ops_db(kind)
    await db.open()

    async def worker() -> None:
        try:
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "rolled back"))
                inside.set()
                await anyio.sleep_forever()
        except DatabaseClosedError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(worker)
        await inside.wait()
        await db.close(drain_timeout=0)
    assert len(errors) == 1
    assert "drain timeout" in str(errors[0])
    assert not errors[0].retryable
    assert await admin_rows(items_pg.admin_dsn, tenant) == []
    # open() after close() serves transactions again
    async with db, db.tenant(ctx) as tx:
        await tx.exec(INSERT_ITEM, (tenant, 2, "after reopen"))
    assert [r[1] for r in await admin_rows(items_pg.admin_dsn, tenant)] == [2]


async def test_a_commit_in_flight_is_never_cancelled_by_the_drain_timeout(
    make_db: Any, pg_proxy: Any, items_pg: LocalDatabase
) -> None:
    """The network stalls while COMMIT is on the wire and close(drain_timeout=0) runs: the
    COMMIT is left to finish (cancelling it would leave the outcome unknown)."""
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name))
    await db.open()
    outcome: list[str] = []

    async def writer() -> None:
        async with db.tenant(ctx) as tx:
            await tx.exec(fd.INSERT_ITEM, (tenant, 1, "committed during close"))
            pg_proxy.hold()  # the COMMIT below waits in the proxy
        outcome.append("committed")

    async def committing() -> bool:
        return any(d.ending for d in db._inflight)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(writer)
            await eventually(committing)

            async def closer() -> None:
                await db.close(drain_timeout=0)

            tg.start_soon(closer)

            async def closing() -> bool:
                return bool(db.closing)

            await eventually(closing)
            pg_proxy.flow()
    finally:
        pg_proxy.flow()
    assert outcome == ["committed"]
    assert [r[2] for r in await admin_rows(items_pg.admin_dsn, tenant)] == [
        "committed during close"
    ]
