"""Security review: connection hygiene and task boundaries (RLS.md I-12, I-14, I-15).

Every test uses a ``max_size=1`` pool, so the next transaction runs on the same backend (or on
a fresh one, when the SDK destroyed a connection it could not prove clean). After every way a
block can end — error, COMMIT failure, cancellation at any await point, deadline, a task that
outlives its block — the next tenant must see a clean backend: its own tenant only, no ``app.*``
session values, ``current_user = session_user``, and no row that is not its own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import pytest
from fix_database import (
    COUNT_ITEMS,
    INSERT_ITEM,
    LIST_ITEMS,
    SESSION,
    SLEEP,
    MakeDb,
    new_tenant,
    seed_items,
)
from fix_security import INSERT_PAIR
from polling import wait_for_active_query

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query

SET_SESSION: Query[Any] = Query(
    name="SetSession",
    command=Command.EXEC,
    sql="SELECT set_config('app.extra', $1, false)",
    data_api_sql="SELECT set_config('app.extra', :v, false)",
    params=(Param(name="v", number=1, pg_type="text"),),
)


async def _assert_clean(db: Database, tenant: str, own_rows: int) -> None:
    """A new transaction of ``tenant`` sees only itself, on a clean backend."""
    async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
        seen = await tx.one(SESSION, ())
        rows = await tx.many(LIST_ITEMS, ())
    assert seen is not None
    assert seen.tenant == tenant
    assert seen.user == ""
    assert seen.extra in ("", None)
    assert seen.session_app_settings == 0
    assert seen.current_user == seen.session_user == "app_tenant"
    assert (seen.read_only, seen.isolation) == ("off", "read committed")
    assert len(rows) == own_rows
    assert all(r.tenant_id == tenant for r in rows)
    pool = db._tenant.pool  # type: ignore[union-attr]
    conn = await pool.acquire()
    try:  # between transactions: no open transaction, no context
        assert not conn.is_in_transaction()
        assert await conn.fetchval("SELECT current_setting('app.current_tenant_id', true)") in (
            "",
            None,
        )
    finally:
        await pool.release(conn)


async def test_cancellation_at_every_await_point_leaves_a_clean_backend(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """Deadlines from 0 to ~6 ms hit acquire, BEGIN, each query and COMMIT in turn."""
    victim, other = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, victim, 3)
    await seed_items(items_pg.admin_dsn, other, 2)
    db = make_db(pool={"max_size": 1})
    async with db:
        outcomes = {"cancelled": 0, "done": 0}
        for step in range(60):
            ctx = TenantContext(tenant_id=victim, user_id=new_tenant(), variables=(("app.x", "1"),))
            with anyio.move_on_after(step * 0.0001) as scope:
                async with db.tenant(ctx) as tx:
                    await tx.exec(SET_SESSION, ("leak",))
                    await tx.many(LIST_ITEMS, ())
                    await tx.exec(INSERT_ITEM, (victim, 1000 + step, f"n{step}"))
                    async with tx.savepoint():
                        await tx.one(COUNT_ITEMS, ())
            outcomes["cancelled" if scope.cancelled_caught else "done"] += 1
            await _assert_clean(db, other, 2)
        assert outcomes["cancelled"] > 0


async def test_deadline_leaves_a_clean_backend(make_db: MakeDb) -> None:
    other = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        with pytest.raises(errors.TransactionTimeoutError):  # noqa: PT012 - the block is the unit
            async with db.tenant(TenantContext(tenant_id=new_tenant()), timeout=0.2) as tx:
                await tx.exec(SET_SESSION, ("leak",))
                await tx.exec(SLEEP, (30.0,))
        await _assert_clean(db, other, 0)


async def test_deferred_constraint_failing_at_commit(
    make_db: MakeDb, sec_items_pg: LocalDatabase
) -> None:
    """The duplicate is detected by COMMIT itself: typed error, nothing written, clean."""
    tenant = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:

        async def duplicate() -> None:
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "written?"))
                await tx.exec(INSERT_PAIR, (tenant, 1))
                await tx.exec(INSERT_PAIR, (tenant, 1))  # deferred: no error yet

        with pytest.raises(errors.UniqueViolation):
            await duplicate()
        await _assert_clean(db, tenant, 0)  # the item was rolled back with the pair


async def test_serialization_failure_leaves_a_clean_backend(make_db: MakeDb) -> None:
    """Two serializable transactions with a read/write cycle: one fails (40001), typed."""
    tenant = new_tenant()
    db = make_db(pool={"max_size": 2})
    async with db:
        ctx = TenantContext(tenant_id=tenant)
        both_read = anyio.Event()
        reads = 0
        failures: list[errors.TenantDBError] = []

        async def writer(n: int) -> None:
            nonlocal reads
            try:
                async with db.tenant(ctx, isolation="serializable") as tx:
                    await tx.one(COUNT_ITEMS, ())
                    reads += 1
                    if reads == 2:
                        both_read.set()
                    await both_read.wait()
                    await tx.exec(INSERT_ITEM, (tenant, n, f"w{n}"))
            except errors.TenantDBError as exc:
                failures.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(writer, 1)
            tg.start_soon(writer, 2)
        assert len(failures) == 1
        assert getattr(failures[0], "sqlstate", None) == "40001"
        assert failures[0].retryable
        await _assert_clean(db, tenant, 1)


async def test_executor_leaked_to_a_task_is_refused_after_the_block(make_db: MakeDb) -> None:
    """``asyncio.create_task`` inherits the contextvars; the executor still dies with its block."""
    db = make_db(pool={"max_size": 1})
    async with db:
        started = asyncio.Event()
        release = asyncio.Event()

        async def late(tx: Any) -> Any:
            started.set()
            await release.wait()
            return await tx.one(COUNT_ITEMS, ())

        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            task = asyncio.create_task(late(tx))
            await started.wait()
        victim = new_tenant()
        async with db.tenant(TenantContext(tenant_id=victim)) as tx_b:  # same backend now
            release.set()
            with pytest.raises(errors.ConfigurationError, match="after its block ended"):
                await task
            assert (await tx_b.one(SESSION, ())).tenant == victim  # type: ignore[union-attr]
        await _assert_clean(db, victim, 0)


async def test_stream_and_savepoint_leaked_out_of_the_block_are_refused(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """A half-consumed stream or a savepoint used after the block: refused before SQL, while
    the next tenant's transaction holds the same backend."""
    a, victim = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 3)
    await seed_items(items_pg.admin_dsn, victim, 2)
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            rows = tx.stream(LIST_ITEMS, (), page_size=1)
            first = await anext(rows)
            savepoint = tx.savepoint()
        assert first.tenant_id == a
        async with db.tenant(TenantContext(tenant_id=victim)) as tx_b:
            with pytest.raises(errors.ConfigurationError, match="after its block ended"):
                await anext(rows)
            with pytest.raises(errors.ConfigurationError, match="after its block ended"):
                await savepoint.__aenter__()
            assert {r.tenant_id for r in await tx_b.many(LIST_ITEMS, ())} == {victim}
        await _assert_clean(db, victim, 2)


async def test_two_tasks_sharing_one_executor_get_typed_errors(make_db: MakeDb) -> None:
    """Concurrent use of one transaction: asyncpg refuses the overlap; the SDK maps it and the
    block rolls back instead of committing half of it."""
    tenant = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        errors_seen: list[BaseException] = []

        async def use(tx: Any, n: int) -> None:
            try:
                await tx.exec(SLEEP, (0.05,))
                await tx.exec(INSERT_ITEM, (tenant, n, f"c{n}"))
            except errors.TenantDBError as exc:
                errors_seen.append(exc)

        with pytest.raises(errors.TenantDBError):  # noqa: PT012 - the block is the unit
            async with (
                db.tenant(TenantContext(tenant_id=tenant)) as tx,
                anyio.create_task_group() as tg,
            ):
                tg.start_soon(use, tx, 1)
                tg.start_soon(use, tx, 2)
        assert errors_seen
        assert all(isinstance(e, errors.TenantDBError) for e in errors_seen)
        await _assert_clean(db, tenant, 0)


RACING_SLEEP: Query[Any] = Query(
    name="RacingSleep",
    command=Command.EXEC,
    sql="SELECT pg_sleep($1) AS racing_the_commit",
    data_api_sql="SELECT pg_sleep(:seconds) AS racing_the_commit",
    params=(Param(name="seconds", number=1, pg_type="float8"),),
)


async def test_task_racing_the_commit_never_runs_on_the_next_transaction(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """A child still in a query when the parent leaves the block: COMMIT cannot run over it;
    the connection is destroyed, never handed to the next tenant mid-query."""
    tenant, victim = new_tenant(), new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        holder: list[asyncio.Task[Any]] = []

        async def block() -> None:
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                holder.append(asyncio.create_task(tx.exec(RACING_SLEEP, (5.0,))))
                # The child's query is running server-side (5 s: still running when we leave).
                await wait_for_active_query(items_pg.server, items_pg.name, "racing_the_commit")

        with pytest.raises(errors.TenantDBError):
            await block()
        with pytest.raises((errors.TenantDBError, asyncio.CancelledError)):
            await holder[0]
        await _assert_clean(db, victim, 0)


async def test_child_tasks_get_their_own_transactions(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """A task-group child opening ``db.tenant(other)`` inside the parent's block is not nested:
    it gets its own connection and sees only its own tenant; the parent keeps its tenant."""
    a, b = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 1)
    await seed_items(items_pg.admin_dsn, b, 2)
    db = make_db(pool={"max_size": 2})
    async with db:
        seen: dict[str, list[str]] = {}

        async def child() -> None:
            async with db.tenant(TenantContext(tenant_id=b)) as tx:
                seen["child"] = [r.tenant_id for r in await tx.many(LIST_ITEMS, ())]

        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            async with anyio.create_task_group() as tg:
                tg.start_soon(child)
            seen["parent"] = [r.tenant_id for r in await tx.many(LIST_ITEMS, ())]
        assert seen == {"child": [b, b], "parent": [a]}


async def test_tenant_batch_cancelled_midway_writes_nothing(make_db: MakeDb) -> None:
    tenant = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:

        async def write(tx: Any) -> None:
            await tx.exec(INSERT_ITEM, (tenant, 1, "first"))

        async def stall(tx: Any) -> None:
            await tx.exec(SLEEP, (30.0,))

        with anyio.move_on_after(0.3) as scope:
            await db.tenant_batch(TenantContext(tenant_id=tenant), [write, stall, write])
        assert scope.cancelled_caught
        await _assert_clean(db, tenant, 0)


async def test_nested_readonly_block_in_a_writable_transaction_is_refused(
    make_db: MakeDb,
) -> None:
    """A nested ``readonly=True`` block would be a writable savepoint: refused, not ignored."""
    tenant = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        ctx = TenantContext(tenant_id=tenant)
        async with db.tenant(ctx) as tx:
            with pytest.raises(errors.ConfigurationError, match="readonly"):
                async with db.tenant(ctx, readonly=True):
                    pass
            await tx.exec(INSERT_ITEM, (tenant, 1, "outer still usable"))
        async with db.tenant(ctx, readonly=True), db.tenant(ctx, readonly=True) as inner:
            assert (await inner.one(SESSION, ())).read_only == "on"  # type: ignore[union-attr]
        async with db.tenant(ctx, readonly=True), db.tenant(ctx) as inner:
            # a writable request inside a read-only block stays read-only (PostgreSQL refuses
            # writes): nothing is silently widened
            assert (await inner.one(SESSION, ())).read_only == "on"  # type: ignore[union-attr]
        await _assert_clean(db, tenant, 1)
