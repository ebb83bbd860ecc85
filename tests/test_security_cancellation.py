"""Issue 9, finding 3: whatever cancels a tenant block, at whichever await, no transaction stays
open on the server past the cleanup bound, and every connection (slot) comes back.

The Data API lane shielded BeginTransaction with an anyio ``CancelScope(shield=True)``, but a
plain ``asyncio.Task.cancel()`` (what ``asyncio.timeout`` and ``wait_for`` do) goes through an
anyio shield: the server opened the transaction, nobody learnt its id, and it held a database
connection until the idle expiry. The sweep below cancels at every call the block makes (while
the call is in flight, and right after it returned), in both styles (an anyio scope and a raw
``Task.cancel``), on both lanes, then counts open server transactions and free slots.

The hooks only *time* the cancellation: every call still goes to the real server.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import asyncpg
import pytest
from fix_gateway import LocalDataApi
from fix_lanes import data_api_lane, open_lane_db
from fix_schema import TenantSet
from hospitality import bookings
from polling import eventually

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.dataapi.transaction import CLEANUP_TIMEOUT_S

POOL = 2
_armed: contextvars.ContextVar[Callable[[str], Awaitable[None]] | None] = contextvars.ContextVar(
    "armed", default=None
)


class _Trigger:
    """Cancels the running block at its ``target``-th call, ``when`` = during or after it."""

    def __init__(self, target: int, when: str, cancel: Callable[[], None]) -> None:
        self.target, self.when, self.cancel = target, when, cancel
        self.calls: list[str] = []

    async def before(self, name: str) -> None:
        self.calls.append(name)
        if len(self.calls) == self.target and self.when == "during":
            self.cancel()  # delivered at the call's next await: the request is in flight

    async def after(self) -> None:
        if len(self.calls) == self.target and self.when == "after":
            self.cancel()  # delivered at the block's next await: the call has completed


def _wrap(original: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
    async def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        trigger = _armed.get()
        if trigger is None:
            return await original(self, *args, **kwargs)
        await trigger.before(name)  # type: ignore[attr-defined]
        result = await original(self, *args, **kwargs)
        await trigger.after()  # type: ignore[attr-defined]
        return result

    return hooked


@contextmanager
def _hooks(monkeypatch: pytest.MonkeyPatch, db: Database, kind: str) -> Iterator[None]:
    if kind == "asyncpg":
        for name in ("execute", "fetch", "fetchrow", "fetchval"):
            cls = asyncpg.connection.Connection
            monkeypatch.setattr(cls, name, _wrap(getattr(cls, name), name))
    else:
        client = data_api_lane(db).client
        for name in ("begin", "execute", "commit", "rollback"):
            method = getattr(type(client), name)
            bound = _wrap(method, name)
            monkeypatch.setattr(client, name, bound.__get__(client))
    yield


async def _block(db: Database, ctx: TenantContext) -> None:
    async with db.tenant(ctx) as tx:
        await bookings.count_bookings(tx)


async def _run_cancelled(
    db: Database, ctx: TenantContext, target: int, when: str, style: str
) -> list[str]:
    if style == "anyio":
        with anyio.CancelScope() as scope:
            trigger = _Trigger(target, when, scope.cancel)
            token = _armed.set(trigger)  # type: ignore[arg-type]
            try:
                await _block(db, ctx)
            finally:
                _armed.reset(token)
        return trigger.calls
    task_box: list[asyncio.Task[None]] = []

    def cancel_task() -> None:
        task_box[0].cancel()

    trigger = _Trigger(target, when, cancel_task)

    async def run() -> None:
        _armed.set(trigger)  # type: ignore[arg-type]  # this task's own context
        await _block(db, ctx)

    task = asyncio.ensure_future(run())
    task_box.append(task)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
    return trigger.calls


async def _open_server_transactions(tenants: TenantSet) -> int:
    conn = await asyncpg.connect(tenants.pg.dsn("postgres", tenants.pg.name))
    try:
        n: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app_tenant'"
            " AND datname = current_database() AND xact_start IS NOT NULL"
        )
    finally:
        await conn.close()
    return n


async def _all_slots_free(db: Database, ctx: TenantContext) -> None:
    """``POOL`` blocks at once, each holding its connection until all have one."""
    ready = anyio.Event()
    holding = 0

    async def hold() -> None:
        nonlocal holding
        async with db.tenant(ctx) as tx:
            await bookings.count_bookings(tx)
            holding += 1
            if holding == POOL:
                ready.set()
            await ready.wait()

    with anyio.fail_after(CLEANUP_TIMEOUT_S):
        async with anyio.create_task_group() as tg:
            for _ in range(POOL):
                tg.start_soon(hold)


@pytest.mark.parametrize("kind", ["asyncpg", "data_api"])
@pytest.mark.parametrize("style", ["anyio", "asyncio"])
async def test_cancelling_at_every_await_leaves_no_open_transaction(
    tenants_abc: TenantSet,
    gateway: LocalDataApi,
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    style: str,
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    options = PoolOptions(max_size=POOL, acquire_timeout=CLEANUP_TIMEOUT_S)
    # Other tests may have left transactions for the gateway's idle expiry: count from here.
    baseline = await _open_server_transactions(tenants_abc)
    async with open_lane_db(kind, tenants_abc, gateway, pool=options) as db:
        with _hooks(monkeypatch, db, kind):
            probe = _Trigger(0, "never", lambda: None)
            token = _armed.set(probe)  # type: ignore[arg-type]
            try:
                await _block(db, ctx)
            finally:
                _armed.reset(token)
            calls = len(probe.calls)
            assert calls >= 3  # begin (+ context), the query, commit
            for target in range(1, calls + 1):
                for when in ("during", "after"):
                    await _run_cancelled(db, ctx, target, when, style)

                    async def closed() -> bool:
                        return await _open_server_transactions(tenants_abc) <= baseline

                    await eventually(closed, cap=CLEANUP_TIMEOUT_S)
                    await _all_slots_free(db, ctx)
