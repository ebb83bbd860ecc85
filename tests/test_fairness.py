"""Per-tenant fairness on one pool (issue 14 part 3): FIFO waiting, ``max_per_tenant``.

Blocks are held open on events, so every assertion is about order and queue position (who
got the next free connection), never about wall-clock time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest
from fix_database import COUNT_ITEMS, MakeDb, new_tenant
from polling import eventually

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import AsyncpgLane, PoolOptions


def _gate(db: Database) -> AsyncpgLane:
    lane = db._tenant
    assert isinstance(lane, AsyncpgLane)
    return lane


async def _queued(db: Database, n: int) -> None:
    async def check() -> bool:
        return _gate(db).gate.waiting >= n

    await eventually(check)


def _holder(
    db: Database, tenant: str, release: anyio.Event, entered: list[str], label: str
) -> Callable[[], Awaitable[None]]:
    async def hold() -> None:
        async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
            entered.append(label)
            await tx.one(COUNT_ITEMS, ())
            await release.wait()

    return hold


async def test_waiting_blocks_get_connections_first_come_first_served(make_db: MakeDb) -> None:
    db = make_db(pool={"min_size": 2, "max_size": 2})
    entered: list[str] = []
    release = {name: anyio.Event() for name in ("h1", "h2", *(f"w{i}" for i in range(6)))}
    async with db, anyio.create_task_group() as tg:
        for n, name in enumerate(("h1", "h2"), 1):
            tg.start_soon(_holder(db, new_tenant(), release[name], entered, name))
            await eventually(lambda n=n: _true(len(entered) == n))  # type: ignore[misc]
        for i in range(6):  # arrive one after another, each visibly queued before the next
            tg.start_soon(_holder(db, new_tenant(), release[f"w{i}"], entered, f"w{i}"))
            await _queued(db, i + 1)
        # Free one connection at a time: each goes to the earliest waiter still queued.
        for n, name in enumerate(("h1", "h2", *(f"w{i}" for i in range(4))), 3):
            release[name].set()
            await eventually(lambda n=n: _true(len(entered) == n))  # type: ignore[misc]
        release["w4"].set()
        release["w5"].set()
    assert entered == ["h1", "h2", *(f"w{i}" for i in range(6))]


async def _true(value: bool) -> bool:
    return value


@pytest.mark.parametrize("cap", [None, 5], ids=["no-limit", "max_per_tenant=5"])
async def test_a_noisy_tenant_does_not_starve_a_quiet_one(make_db: MakeDb, cap: int | None) -> None:
    """Two noisy tenants with 100 blocks each fill a 10-connection pool; then one quiet block.

    Without a limit the quiet block queues behind every noisy block that arrived before it
    (position 190) and the next free connection goes to an earlier noisy arrival. With
    ``max_per_tenant=5`` the noisy tenants hold 5 connections each and the next free
    connection goes to the quiet block, before any of the 190 earlier noisy arrivals: its
    wait is one block's length, as on an idle-but-full pool, not the backlog's.
    """
    db = make_db(pool={"max_size": 10, "max_per_tenant": cap, "acquire_timeout": 60.0})
    noisy = [new_tenant(), new_tenant()]
    quiet = new_tenant()
    entered: list[str] = []
    release = {f"n{i}": anyio.Event() for i in range(200)}
    release["quiet"] = anyio.Event()
    async with db, anyio.create_task_group() as tg:
        for i in range(200):
            tg.start_soon(_holder(db, noisy[i % 2], release[f"n{i}"], entered, f"n{i}"))
            await anyio.lowlevel.checkpoint()  # arrival order = i
        await _queued(db, 190)
        await eventually(lambda: _true(len(entered) == 10))
        tg.start_soon(_holder(db, quiet, release["quiet"], entered, "quiet"))
        await _queued(db, 191)
        gate = _gate(db).gate
        assert gate.position(quiet) == [190]  # arrived last, behind the whole backlog
        if cap is not None:
            waits = {w.tenant_id: w for w in db.tenant_waits()}
            assert waits[noisy[0]].holding == waits[noisy[1]].holding == 5
        release[entered[0]].set()  # free exactly one connection
        await eventually(lambda: _true(len(entered) == 11))
        if cap is None:
            assert entered[10] != "quiet"  # an earlier noisy arrival got it
        else:
            assert entered[10] == "quiet"  # the tenant holding the fewest got it
        for event in release.values():
            event.set()
    waits = {w.tenant_id: w for w in db.tenant_waits()}
    assert waits[quiet].acquired == 1
    assert waits[noisy[0]].acquired == waits[noisy[1]].acquired == 100
    assert waits[noisy[0]].wait_p99_ms >= waits[noisy[0]].wait_p50_ms


async def test_the_pool_timeout_names_the_tenant_at_its_limit(make_db: MakeDb) -> None:
    db = make_db(pool={"max_size": 4, "max_per_tenant": 1, "acquire_timeout": 0.2})
    tenant = new_tenant()
    release = anyio.Event()
    entered: list[str] = []
    async with db, anyio.create_task_group() as tg:
        tg.start_soon(_holder(db, tenant, release, entered, "first"))
        await eventually(lambda: _true(entered == ["first"]))
        with pytest.raises(errors.PoolTimeoutError, match=tenant) as caught:
            async with db.tenant(TenantContext(tenant_id=tenant)):
                pass
        assert "max_per_tenant=1" in str(caught.value)
        # Another tenant is not affected by the first one's limit.
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.one(COUNT_ITEMS, ())
        release.set()
    waits = {w.tenant_id: w for w in db.tenant_waits()}
    assert waits[tenant].timeouts == 1


def test_max_per_tenant_must_be_positive() -> None:
    with pytest.raises(errors.ConfigurationError, match="max_per_tenant"):
        PoolOptions(max_per_tenant=0)


async def test_health_checks_give_their_gate_slot_back(make_db: MakeDb) -> None:
    """``health()`` borrows a connection (``SHOW server_version``) through the fair gate; it
    must return the slot, or a few health checks would starve every transaction."""
    db = make_db(pool={"max_size": 2, "acquire_timeout": 2.0})
    async with db:
        for _ in range(5):
            await db.health()
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.one(COUNT_ITEMS, ())
