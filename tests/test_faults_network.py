"""Issue 13, part 5: network faults between the asyncpg lane and PostgreSQL, through a
fault-injecting TCP proxy (``fix_database.PgProxy``: cut, stall, cut right after COMMIT, slow
link). For each: the error class and ``retryable``, the pool healthy afterwards, and no write
acknowledged that is not there. (The Data API lane's faults are injected at the gateway:
``test_gateway_faults.py``, ``test_faults_contract.py``.)
"""

from __future__ import annotations

import anyio
import pytest
from fix_database import INSERT_ITEM, LIST_ITEMS, MakeDb, PgProxy, admin_rows, new_tenant

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg import lane as asyncpg_lane
from tenantdb.local import LocalDatabase


def _through(make_db: MakeDb, proxy: PgProxy, items_pg: LocalDatabase, **kw: object) -> Database:
    return make_db(tenant=proxy.dsn("app_tenant", items_pg.name), pool={"max_size": 2}, **kw)


async def _healthy(db: Database, tenant: str) -> None:
    """The lane serves again: a fresh block reads and writes."""
    async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
        await tx.exec(INSERT_ITEM, (tenant, 999, "after the fault"))
        assert [r.id for r in await tx.many(LIST_ITEMS, ())][-1] == 999


async def test_a_reset_between_statements_is_connection_lost_and_retryable(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    db = _through(make_db, pg_proxy, items_pg)
    async with db:

        async def unit() -> None:
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "lost"))
                pg_proxy.cut()
                await tx.exec(INSERT_ITEM, (tenant, 2, "lost too"))

        with pytest.raises(errors.ConnectionLostError) as info:
            await unit()
        assert info.value.retryable is True
        assert not isinstance(info.value, errors.CommitOutcomeUnknownError)
        assert await admin_rows(items_pg.admin_dsn, tenant) == []  # nothing committed
        await _healthy(db, tenant)


async def test_a_reset_during_commit_is_outcome_unknown(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    db = _through(make_db, pg_proxy, items_pg)
    async with db:

        async def unit() -> None:
            async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "maybe"))
                pg_proxy.cut_after = b"COMMIT"

        with pytest.raises(errors.CommitOutcomeUnknownError) as info:
            await unit()
        assert info.value.retryable is False
        assert isinstance(info.value, errors.ConnectionLostError)
        # the proxy forwarded COMMIT: the server committed, the client could not know
        assert [r[1] for r in await admin_rows(items_pg.admin_dsn, tenant)] == [1]
        await _healthy(db, tenant)


async def test_a_stalled_link_times_out_typed_and_the_pool_recovers(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Half-open link: nothing comes back. The transaction deadline fires, the ROLLBACK cannot
    get through either, the connection is discarded after the cleanup bound."""
    monkeypatch.setattr(asyncpg_lane, "_CLEANUP_TIMEOUT_S", 0.3)
    tenant = new_tenant()
    db = _through(make_db, pg_proxy, items_pg)
    async with db:

        async def unit() -> None:
            async with db.tenant(TenantContext(tenant_id=tenant), timeout=0.5) as tx:
                await tx.exec(INSERT_ITEM, (tenant, 1, "stalled"))
                pg_proxy.hold()
                await tx.exec(INSERT_ITEM, (tenant, 2, "never sent"))

        with pytest.raises(errors.TransactionTimeoutError) as info:
            await unit()
        pg_proxy.flow()
        assert info.value.retryable is False
        assert db.metrics().discarded_connections >= 1

        async def gone() -> bool:
            return await admin_rows(items_pg.admin_dsn, tenant) == []

        with anyio.fail_after(10):
            while not await gone():  # noqa: ASYNC110 - the server ends the orphaned backend
                await anyio.sleep(0.05)
        await _healthy(db, tenant)


async def test_a_slow_link_changes_nothing_but_time(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    pg_proxy.delay = 0.01
    db = _through(make_db, pg_proxy, items_pg)
    async with db:
        async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
            for i in range(1, 4):
                await tx.exec(INSERT_ITEM, (tenant, i, f"slow {i}"))
        assert [r[1] for r in await admin_rows(items_pg.admin_dsn, tenant)] == [1, 2, 3]
