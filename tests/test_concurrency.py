"""Many tenants, few connections, random cancellations: no cross-tenant rows, a healthy pool.

RLS.md I-12's stress test: 2,000 tasks over 50 tenants on a 4-connection pool, 10% of them
cancelled at random points (waiting for a connection, in BEGIN, mid-query, in COMMIT).
"""

from __future__ import annotations

import random

import anyio
import asyncpg
from fix_database import (
    INSERT_ITEM,
    LIST_ITEMS,
    SESSION,
    SLEEP,
    MakeDb,
    new_tenant,
    seed_items,
)

from tenantdb.context import TenantContext
from tenantdb.local import LocalDatabase

TASKS = 2_000
TENANTS = 50
POOL = 4
CANCELLED = 0.10


async def test_concurrent_tenants_with_cancellations_never_mix(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    rng = random.Random(20261123)
    tenants = [new_tenant() for _ in range(TENANTS)]
    for tenant in tenants:
        await seed_items(items_pg.admin_dsn, tenant, 2)
    db = make_db(pool={"min_size": POOL, "max_size": POOL, "acquire_timeout": 60})
    wrong: list[str] = []
    finished = {"ok": 0, "cancelled": 0}

    async def request(n: int, tenant: str, cancel_after: float | None) -> None:
        ctx = TenantContext(tenant_id=tenant)
        with anyio.CancelScope() as scope:
            if cancel_after is not None:
                scope.deadline = anyio.current_time() + cancel_after
            async with db.tenant(ctx) as tx:
                session = await tx.one(SESSION, ())
                if n % 3 == 0:
                    await tx.exec(INSERT_ITEM, (tenant, 1000 + n, f"{tenant}/{n}"))
                if n % 7 == 0:
                    await tx.exec(SLEEP, (0.002,))
                rows = await tx.many(LIST_ITEMS, ())
            if session is None or session.tenant != tenant:
                wrong.append(f"task {n}: context {session}")
            wrong.extend(f"task {n}: saw {r}" for r in rows if r.tenant_id != tenant)
        finished["cancelled" if scope.cancelled_caught else "ok"] += 1

    async with db:
        async with anyio.create_task_group() as tg:
            for n in range(TASKS):
                cancel = rng.uniform(0, 0.05) if rng.random() < CANCELLED else None
                tg.start_soon(request, n, rng.choice(tenants), cancel)
        pool = db._tenant.pool  # type: ignore[union-attr]
        assert pool.get_size() == POOL
        assert pool.get_idle_size() == POOL
        await _assert_server_side_clean(items_pg, tenants)
        await _assert_connections_clean(pool)

    assert wrong == []
    assert finished["ok"] + finished["cancelled"] == TASKS
    assert finished["cancelled"] > TASKS * CANCELLED / 4
    assert finished["ok"] >= TASKS * 0.8


async def _assert_server_side_clean(items_pg: LocalDatabase, tenants: list[str]) -> None:
    """The pool's backends are all idle (none in a transaction), and every row written kept the
    tenant of the task that wrote it."""
    conn = await asyncpg.connect(items_pg.superuser_dsn)
    try:
        states = await conn.fetch(
            "SELECT state FROM pg_stat_activity WHERE datname = $1 AND usename = 'app_tenant'",
            items_pg.name,
        )
        assert [r["state"] for r in states] == ["idle"] * POOL
        mixed = await conn.fetchval(
            "SELECT count(*) FROM items"
            " WHERE tenant_id = ANY($1::uuid[]) AND id >= 1000"
            " AND name NOT LIKE tenant_id::text || '/%'",
            tenants,
        )
        assert mixed == 0
    finally:
        await conn.close()


async def _assert_connections_clean(pool: asyncpg.Pool[asyncpg.Record]) -> None:
    """Every pooled connection, held at once: no tenant left set, no session-level app.*."""
    held = [await pool.acquire() for _ in range(POOL)]
    try:
        for conn in held:
            row = await conn.fetchrow(
                "SELECT current_setting('app.current_tenant_id', true),"
                " (SELECT count(*) FROM pg_settings WHERE source = 'session' AND name LIKE 'app.%')"
            )
            assert row is not None
            assert row[0] in ("", None)
            assert row[1] == 0
    finally:
        for conn in held:
            await pool.release(conn)
