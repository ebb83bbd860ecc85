"""``db.run`` / ``db.run_admin``: a unit of work re-run in a fresh transaction on retryable
errors, with real SERIALIZABLE conflicts and real deadlocks, on both tenant lanes."""

from __future__ import annotations

from typing import Any

import anyio
import fix_database as fd
import pytest
from fix_database import _param, _q, admin_rows, new_tenant, seed_items
from fix_ops import MakeOpsDb, both_lanes
from structlog.testing import capture_logs

from tenantdb import RetryPolicy, TenantContext
from tenantdb.database import _unit_retry_wait
from tenantdb.drivers.lane import Transaction
from tenantdb.errors import (
    ConnectionLostError,
    DeadlockDetected,
    SerializationFailure,
    ThrottledError,
    UniqueViolation,
)
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Command

COUNT_ITEMS = both_lanes(fd.COUNT_ITEMS)
INSERT_ITEM = both_lanes(fd.INSERT_ITEM)
UPSERT_ITEM = both_lanes(fd.UPSERT_ITEM)
RETRY = RetryPolicy(deadline=20.0, max_attempts=5, base_delay=0.001, max_delay=0.01)
APPEND_NAME: Any = both_lanes(
    _q(
        "AppendName",
        Command.EXECROWS,
        "UPDATE items SET name = name || $2 WHERE id = $1",
        params=(_param("id", 1, "int4"), _param("suffix", 2, "text")),
    )
)
LANES = ("asyncpg", "data_api")


class Barrier:
    """Both workers reach ``wait()`` before either goes on (first attempts only)."""

    def __init__(self, parties: int = 2) -> None:
        self._left = parties
        self._event = anyio.Event()

    async def wait(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._event.set()
        with anyio.fail_after(10):
            await self._event.wait()


@pytest.mark.parametrize("kind", LANES)
async def test_serialization_failures_rerun_the_unit_until_it_commits(
    kind: str, make_ops_db: MakeOpsDb, items_pg: LocalDatabase
) -> None:
    """Write skew under SERIALIZABLE: both units read the count, then insert "n<count>".
    Without the re-run both would insert n0; with it the loser reads again and inserts n1."""
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    barrier = Barrier()
    attempts: dict[str, int] = {"a": 0, "b": 0}

    def unit(worker: str, item_id: int) -> Any:
        async def fn(tx: Transaction) -> str:
            attempts[worker] += 1
            count = await tx.one(COUNT_ITEMS, ())
            assert count is not None
            if attempts[worker] == 1:
                await barrier.wait()  # both transactions have read before either writes
            name = f"n{count.n}"
            await tx.exec(INSERT_ITEM, (tenant, item_id, name))
            return name

        return fn

    names: list[str] = []
    async with make_ops_db(kind) as db:
        with capture_logs() as logs:
            async with anyio.create_task_group() as tg:
                for worker, item_id in (("a", 1), ("b", 2)):

                    async def go(w: str = worker, i: int = item_id) -> None:
                        names.append(
                            await db.run(ctx, unit(w, i), retry=RETRY, isolation="serializable")
                        )

                    tg.start_soon(go)
        snap = db.metrics()
    assert sorted(names) == ["n0", "n1"]
    assert sorted(r[2] for r in await admin_rows(items_pg.admin_dsn, tenant)) == ["n0", "n1"]
    assert sum(attempts.values()) == 3
    assert snap.unit_retries == 1
    assert snap.retries_by_error == {"40001": 1}
    assert snap.per_tenant[tenant].retries == 1
    retries = [e for e in logs if e["event"] == "retry"]
    assert len(retries) == 1
    event = retries[0]
    assert (event["kind"], event["lane"], event["tenant_id"]) == ("unit", "tenant", tenant)
    assert (event["operation"], event["attempt"], event["error"]) == ("transaction", 1, "40001")
    assert event["delay_ms"] >= 0
    assert event["log_level"] == "info"


@pytest.mark.parametrize("kind", LANES)
async def test_a_deadlock_victim_is_rerun_and_both_units_commit(
    kind: str, make_ops_db: MakeOpsDb, items_pg: LocalDatabase
) -> None:
    """Two units update rows 1 and 2 in opposite orders: PostgreSQL aborts one with 40P01."""
    tenant = new_tenant()
    await seed_items(items_pg.admin_dsn, tenant, 2)
    ctx = TenantContext(tenant_id=tenant)
    barrier = Barrier()
    attempts = {"a": 0, "b": 0}

    def unit(worker: str, first: int, second: int) -> Any:
        async def fn(tx: Transaction) -> None:
            attempts[worker] += 1
            await tx.execrows(APPEND_NAME, (first, worker))
            if attempts[worker] == 1:
                await barrier.wait()  # each holds one row lock and wants the other's
            await tx.execrows(APPEND_NAME, (second, worker))

        return fn

    async with make_ops_db(kind) as db:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: db.run(ctx, unit("a", 1, 2), retry=RETRY))
            tg.start_soon(lambda: db.run(ctx, unit("b", 2, 1), retry=RETRY))
        snap = db.metrics()
    rows = await admin_rows(items_pg.admin_dsn, tenant)
    # Both units committed exactly once: every row got one "a" and one "b".
    assert [sorted(r[2].removeprefix(f"item-{r[1]}")) for r in rows] == [["a", "b"], ["a", "b"]]
    assert sum(attempts.values()) == 3
    assert snap.unit_retries == 1
    assert snap.retries_by_error == {"40P01": 1}


@pytest.mark.parametrize("kind", LANES)
async def test_non_retryable_errors_run_once_and_raise(kind: str, make_ops_db: MakeOpsDb) -> None:
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    calls = 0

    async def fn(tx: Transaction) -> None:
        nonlocal calls
        calls += 1
        await tx.exec(INSERT_ITEM, (tenant, 1, "x"))
        await tx.exec(INSERT_ITEM, (tenant, 1, "y"))

    async with make_ops_db(kind) as db:
        with pytest.raises(UniqueViolation):
            await db.run(ctx, fn, retry=RETRY)
        assert db.metrics().unit_retries == 0
    assert calls == 1


@pytest.mark.parametrize("kind", LANES)
async def test_retries_stop_at_max_attempts_with_the_last_error(
    kind: str, make_ops_db: MakeOpsDb
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    calls = 0

    async def always_conflicts(tx: Transaction) -> None:
        nonlocal calls
        calls += 1
        await tx.exec(RAISE_40001, ())

    async with make_ops_db(kind) as db:
        with pytest.raises(SerializationFailure):
            await db.run(ctx, always_conflicts, retry=RetryPolicy(max_attempts=3, base_delay=0))
        assert db.metrics().unit_retries == 2
    assert calls == 3


RAISE_40001: Any = _q(
    "Raise40001",
    Command.EXEC,
    "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
)


async def test_data_api_throttling_that_outlasts_the_call_retries_reruns_the_unit(
    make_ops_db: MakeOpsDb, gateway: LocalDataApi
) -> None:
    """With call retries off, a throttled BeginTransaction surfaces as ThrottledError
    (retryable: nothing ran) and ``db.run`` starts the unit again."""
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    async with make_ops_db("data_api", call_retry=RetryPolicy(max_attempts=1)) as db:
        gateway.inject("throttling", times=1, operations=["BeginTransaction"])
        try:
            n = await db.run(
                ctx, lambda tx: tx.execrows(UPSERT_ITEM, (tenant, 1, "a")), retry=RETRY
            )
        finally:
            gateway.clear_faults()
        snap = db.metrics()
    assert n == 1
    assert (snap.unit_retries, snap.call_retries) == (1, 0)
    assert snap.retries_by_error == {"ThrottledError": 1}


async def test_a_connection_lost_before_commit_reruns_the_unit(
    make_db: Any, pg_proxy: Any, items_pg: LocalDatabase
) -> None:
    """asyncpg: the network drops mid-unit (before COMMIT was sent): retryable, re-run."""
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name))
    await db.open()
    calls = 0

    async def fn(tx: Transaction) -> int:
        nonlocal calls
        calls += 1
        await tx.exec(INSERT_ITEM, (tenant, 1, "once"))
        if calls == 1:
            pg_proxy.cut()
        return await tx.execrows(UPSERT_ITEM, (tenant, 1, "once"))

    assert await db.run(ctx, fn, retry=RETRY) == 1
    assert calls == 2
    assert db.metrics().retries_by_error == {"ConnectionLostError": 1}
    assert [r[2] for r in await admin_rows(items_pg.admin_dsn, tenant)] == ["once"]


async def test_run_admin_reruns_on_the_admin_lane(make_ops_db: MakeOpsDb) -> None:
    calls = 0

    async def fn(tx: Transaction) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await tx.exec(RAISE_40001, ())
        return "done"

    async with make_ops_db("asyncpg") as db:
        with capture_logs() as logs:
            assert await db.run_admin(fn, reason="test", retry=RETRY) == "done"
    assert calls == 2
    admin_events = [e for e in logs if e["event"] == "tenantdb.admin_transaction"]
    assert len(admin_events) == 2  # every attempt is a logged admin transaction
    assert all("test_run_retry.py:" in e["caller"] for e in admin_events)
    assert [e["lane"] for e in logs if e["event"] == "retry"] == ["admin"]


@pytest.mark.parametrize("kind", LANES)
async def test_nested_in_an_open_block_runs_once_as_a_savepoint(
    kind: str, make_ops_db: MakeOpsDb
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    calls = 0

    async def fn(tx: Transaction) -> None:
        nonlocal calls
        calls += 1
        await tx.exec(RAISE_40001, ())

    async with make_ops_db(kind) as db:
        with pytest.raises(SerializationFailure):
            async with db.tenant(ctx):
                await db.run(ctx, fn, retry=RETRY)
    assert calls == 1


def test_an_ambiguous_commit_is_never_retried() -> None:
    """At COMMIT only an error answer of class 40 proves the rollback; a lost connection or
    a shutdown message there may follow a commit that happened."""
    policy = RetryPolicy(base_delay=0.0)
    lost = ConnectionLostError("lost", query="COMMIT")  # retryable by class default
    assert _unit_retry_wait(policy, lost, 0, committing=False) is not None
    assert _unit_retry_wait(policy, lost, 0, committing=True) is None
    from tenantdb.errors import error_for_sqlstate

    shutdown = error_for_sqlstate("57P01", "terminating connection", query="COMMIT")
    assert shutdown.retryable
    assert _unit_retry_wait(policy, shutdown, 0, committing=True) is None
    serial = SerializationFailure("could not serialize", sqlstate="40001", query="COMMIT")
    assert _unit_retry_wait(policy, serial, 0, committing=True) is not None
    deadlock = DeadlockDetected("deadlock", sqlstate="40P01")
    assert _unit_retry_wait(policy, deadlock, 0, committing=False) is not None
    assert _unit_retry_wait(policy, ThrottledError("x"), 0, committing=True) is None
    assert _unit_retry_wait(RetryPolicy(max_attempts=1), serial, 0, committing=False) is None
