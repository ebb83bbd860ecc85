"""Issue 13, part 0: the same fault gets the same class and ``retryable`` on both lanes.

``retryable`` means one thing (docs/errors.md): re-running the whole unit of work is safe,
because nothing of it committed, and may succeed. A backend that dies before COMMIT was sent
commits nothing: ``ConnectionLostError(retryable=True)`` whatever the moment, on both lanes.
A COMMIT whose answer never comes is ``CommitOutcomeUnknownError`` (retryable=False). A
cancellation that arrives while COMMIT is in flight waits for COMMIT's answer (bounded) and is
delivered after it: the outcome is never left in doubt by the cancellation itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import asyncpg
import pytest
from fix_lanes import LANES, data_api_lane, open_lane_db
from fix_schema import TenantSet
from polling import eventually

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDataApi
from tenantdb.query import Command, Param, Query

PID: Query[int] = Query(
    name="Pid",
    command=Command.ONE,
    sql="SELECT pg_backend_pid()",
    data_api_sql="SELECT pg_backend_pid()",
    row=int,
    from_record=lambda r: r[0],
)
SLEEP: Query[Any] = Query(
    name="Sleep",
    command=Command.EXEC,
    sql="SELECT pg_sleep(30)",
    data_api_sql="SELECT pg_sleep(30)",
)
NOTE: Query[Any] = Query(
    name="Note",
    command=Command.EXEC,
    sql="UPDATE tenants SET name = $1 WHERE id = app.current_tenant_id()",
    data_api_sql="UPDATE tenants SET name = :name WHERE id = app.current_tenant_id()",
    params=(Param(name="name", number=1, pg_type="text"),),
)


_OPEN_TRANSACTIONS = (
    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_tenant'"
    " AND datname = current_database() AND xact_start IS NOT NULL"
)


async def _superuser(tenants: TenantSet) -> asyncpg.Connection:
    return await asyncpg.connect(tenants.pg.dsn("postgres", tenants.pg.name))


async def _terminate(tenants: TenantSet, pid: int) -> None:
    su = await _superuser(tenants)
    try:
        await su.execute("SELECT pg_terminate_backend($1, 10000)", pid)
    finally:
        await su.close()


async def _terminate_when_sleeping(tenants: TenantSet) -> None:
    su = await _superuser(tenants)
    try:

        async def sleeping() -> bool:
            pid = await su.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"
                " AND state = 'active' AND usename = 'app_tenant'"
            )
            if pid is not None:
                await su.execute("SELECT pg_terminate_backend($1, 10000)", pid)
            return pid is not None

        await eventually(sleeping)
    finally:
        await su.close()


@pytest.mark.parametrize("kind", LANES)
@pytest.mark.parametrize("moment", ["before-next-statement", "before-commit", "during-statement"])
async def test_a_lost_backend_is_connection_lost_and_retryable(
    tenants_abc: TenantSet, gateway: LocalDataApi, kind: str, moment: str
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    async with open_lane_db(kind, tenants_abc, gateway) as db:

        async def unit_of_work() -> None:
            async with db.tenant(ctx) as tx:
                pid = await tx.one(PID, ())
                if moment == "during-statement":
                    killer = asyncio.ensure_future(_terminate_when_sleeping(tenants_abc))
                    try:
                        await tx.exec(SLEEP, ())
                    finally:
                        await killer
                else:
                    assert pid is not None
                    await _terminate(tenants_abc, pid)
                    if moment == "before-next-statement":
                        await tx.exec(NOTE, ("lost",))

        with pytest.raises(errors.TenantDBError) as info:
            await unit_of_work()
        error = info.value
        assert isinstance(error, errors.ConnectionLostError), repr(error)
        assert error.retryable is True
        # the lane is healthy afterwards: the next block runs
        async with db.tenant(ctx) as tx:
            assert await tx.one(PID, ()) is not None


@pytest.mark.parametrize("kind", LANES)
async def test_an_expired_transaction_is_retryable(
    tenants_abc: TenantSet, gateway: LocalDataApi, kind: str
) -> None:
    """Nothing of an expired (or dropped) Data API transaction committed: redo is safe."""
    assert errors.TransactionExpiredError("gone").retryable is True
    assert errors.ConnectionLostError("lost").retryable is True
    assert errors.CommitOutcomeUnknownError("?").retryable is False
    assert issubclass(errors.CommitOutcomeUnknownError, errors.ConnectionLostError)


def _hook_commit(db: Database, kind: str, on_commit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Call ``on_commit()`` when the block's COMMIT has been sent (the call is in flight)."""
    if kind == "data_api":
        client = data_api_lane(db).client
        original = client.commit

        async def commit(tx_id: str) -> str:
            on_commit()
            return await original(tx_id)

        monkeypatch.setattr(client, "commit", commit)
        return
    cls = asyncpg.connection.Connection
    original_execute = cls.execute

    async def execute(self: Any, query: str, *args: Any, **kw: Any) -> Any:
        if query.endswith("COMMIT"):
            on_commit()
        return await original_execute(self, query, *args, **kw)

    monkeypatch.setattr(cls, "execute", execute)


@pytest.mark.parametrize("kind", LANES)
@pytest.mark.parametrize("style", ["anyio", "asyncio"])
async def test_a_cancellation_during_commit_waits_for_the_outcome(
    tenants_abc: TenantSet,
    gateway: LocalDataApi,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    style: str,
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.c.tenant_id)
    marker = f"commit-{kind}-{style}"
    pool = PoolOptions(max_size=1)
    su = await _superuser(tenants_abc)
    try:
        baseline = await su.fetchval(_OPEN_TRANSACTIONS)  # left by other tests, if any
    finally:
        await su.close()
    async with open_lane_db(kind, tenants_abc, gateway, pool=pool) as db:
        cancel: list[Any] = []
        pids: list[int | None] = []

        def on_commit() -> None:
            cancel[0]()

        async def block() -> None:
            async with db.tenant(ctx) as tx:
                pids.append(await tx.one(PID, ()))
                await tx.exec(NOTE, (marker,))

        _hook_commit(db, kind, on_commit, monkeypatch)
        if style == "anyio":
            with anyio.CancelScope() as scope:
                cancel.append(scope.cancel)
                await block()
        else:
            task = asyncio.ensure_future(block())
            cancel.append(task.cancel)
            with pytest.raises(asyncio.CancelledError):
                await task
        monkeypatch.undo()
        # the SDK knew the outcome: the transaction is recorded as committed, and the asyncpg
        # connection was not terminated as "state unknown" (the next block gets it back)
        assert db.metrics().errors == 0
        async with db.tenant(ctx) as tx:
            pids.append(await tx.one(PID, ()))
        if kind == "asyncpg":
            assert pids[0] == pids[1]
        su = await _superuser(tenants_abc)
        try:
            name = await su.fetchval("SELECT name FROM tenants WHERE id = $1", ctx.tenant_id)
            open_tx = await su.fetchval(_OPEN_TRANSACTIONS)
            await su.execute("UPDATE tenants SET name = 'Tenant C' WHERE id = $1", ctx.tenant_id)
        finally:
            await su.close()
        assert name == marker
        assert open_tx <= baseline


async def test_an_ambiguous_begin_is_never_resent(tenants_abc: TenantSet) -> None:
    """BeginTransaction ran but its answer was lost (a 5xx after the call): the lane must not
    resend it (each blind resend would open one more transaction nobody can roll back). A
    gateway of its own: the orphan it leaves is gone with it, not left to other tests."""
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    async with (
        LocalDataApi(tenants_abc.pg) as gateway,
        open_lane_db("data_api", tenants_abc, gateway) as db,
    ):
        gateway.inject("database_unavailable", when="after", operations=["BeginTransaction"])
        with pytest.raises(errors.ConnectionLostError) as info:
            async with db.tenant(ctx) as tx:
                await tx.one(PID, ())
        assert gateway.call_counts["BeginTransaction"] == 1
        assert gateway.open_transactions == 1  # the one orphan: its id was never seen
        assert info.value.retryable is True  # no block began: redoing the unit of work is safe
