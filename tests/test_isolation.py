"""RLS.md §5 invariants that concern the asyncpg lane's connections: I-9, I-12, I-14, I-16, I-17.

I-8, I-10, I-11 and the hospitality plan-cache check run on both transports in
``test_isolation_lanes.py``. These run on the hospitality schema (``tenants_abc``) and on the
small ``items`` schema. Checks "outside any transaction" need the raw pooled connection the SDK
would hand out next; they reach it through the lane's pool, the only non-public access here.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import msgspec
import pytest
from fix_database import (
    COUNT_ITEMS,
    GET_ITEM,
    GET_ITEM_OF,
    LIST_ITEMS,
    LIST_ITEMS_FROM,
    SESSION,
    SET_PLAN_CACHE_MODE,
    SLEEP,
    TRUNCATE_ITEMS,
    MakeDb,
    new_tenant,
    seed_items,
)
from fix_schema import TENANT_TABLES, TenantSet

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query


class _N(msgspec.Struct, frozen=True):
    n: int


class _RollbackError(Exception):
    """Raised at the end of a block to throw its writes away."""


def _count(table: str, where: str = "", params: tuple[Param, ...] = ()) -> Query[_N]:
    sql = f"SELECT count(*) FROM {table} {where}"
    return Query(
        name=f"Count_{table}",
        command=Command.ONE,
        sql=sql,
        data_api_sql=sql,
        params=params,
        row=_N,
        from_record=lambda r: _N(r[0]),
    )


@pytest.fixture
async def hdb(tenants_abc: TenantSet) -> AsyncIterator[Database]:
    """A one-connection Database on the hospitality schema (every test reuses the backend)."""
    pg = tenants_abc.pg
    async with Database(admin=pg.admin_dsn, tenant=pg.tenant_dsn) as db:
        yield db


def _ctx(tenant_id: str, user_id: str | None = None) -> TenantContext:
    return TenantContext(tenant_id=tenant_id, user_id=user_id)


def _raw_pool(db: Database) -> asyncpg.Pool[Any]:
    lane = db._tenant
    pool = getattr(lane, "pool", None)
    assert isinstance(pool, asyncpg.Pool)
    return pool


# -- I-9 no context means nothing ------------------------------------------------------------------


async def test_reused_connection_without_context_sees_nothing(
    tenants_abc: TenantSet,
) -> None:
    pg = tenants_abc.pg
    async with Database(tenant=pg.tenant_dsn, pool=_one()) as db:
        async with db.tenant(_ctx(tenants_abc.a.tenant_id)) as tx:
            assert await tx.one(_count("bookings"), ()) == _N(2)
        async with _raw_pool(db).acquire() as conn:  # the same backend, next in line
            for table in (*TENANT_TABLES, "tenants"):
                assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0, table
            for garbage in ("", "not-a-uuid", "A0000000-0000-4000-8000-00000000000A "):
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.current_tenant_id', $1, true)", garbage
                    )
                    try:
                        n = await conn.fetchval("SELECT count(*) FROM bookings")
                    except asyncpg.InvalidTextRepresentationError:
                        continue  # fails closed
                    assert n == 0
    fresh = await asyncpg.connect(pg.tenant_dsn)
    try:
        assert await fresh.fetchval("SELECT count(*) FROM bookings") == 0
    finally:
        await fresh.close()


def _one() -> PoolOptions:
    return PoolOptions(min_size=1, max_size=1)


# -- I-12 context is transaction-scoped and cleaned up ---------------------------------------------


async def _assert_clean(db: Database, pid: int) -> None:
    async with _raw_pool(db).acquire() as conn:
        row = await conn.fetchrow(
            "SELECT pg_backend_pid(), current_setting('app.current_tenant_id', true),"
            " current_setting('app.current_user_id', true), current_user = session_user,"
            " (SELECT count(*) FROM pg_settings WHERE source = 'session' AND name LIKE 'app.%')"
        )
        assert conn.is_in_transaction() is False
    assert row is not None
    assert row[0] == pid  # the same backend the transaction ran on
    assert row[1] in ("", None)
    assert row[2] in ("", None)
    assert row[3] is True
    assert row[4] == 0


async def test_context_is_cleaned_after_commit_rollback_error_and_cancellation(
    tenants_abc: TenantSet,
) -> None:
    pg = tenants_abc.pg
    ctx = _ctx(tenants_abc.a.tenant_id, tenants_abc.a.users[0])
    async with Database(tenant=pg.tenant_dsn, pool=_one()) as db:
        async with db.tenant(ctx) as tx:  # commit
            pid = (await tx.one(SESSION, ())).pid  # type: ignore[union-attr]
        await _assert_clean(db, pid)

        with pytest.raises(_RollbackError):  # noqa: PT012 - exception -> rollback
            async with db.tenant(ctx) as tx:
                await tx.one(SESSION, ())
                raise _RollbackError
        await _assert_clean(db, pid)

        with pytest.raises(errors.QueryError):  # failed statement -> rollback
            async with db.tenant(ctx) as tx:
                await tx.one(_count("no_such_table"), ())
        await _assert_clean(db, pid)

        for moment in ("in-query", "between-queries"):
            with anyio.move_on_after(0.2):  # cancellation mid-transaction
                async with db.tenant(ctx) as tx:
                    await tx.one(SESSION, ())
                    if moment == "in-query":
                        await tx.exec(SLEEP, (30.0,))
                    else:
                        await anyio.sleep(30)
            await _assert_clean(db, pid)


# -- I-14 transaction-local settings outside a transaction -----------------------------------------


async def test_autocommit_set_config_applies_to_nothing(tenants_abc: TenantSet) -> None:
    conn = await asyncpg.connect(tenants_abc.pg.tenant_dsn)
    try:
        got = await conn.fetchval(
            "SELECT set_config('app.current_tenant_id', $1, true)", tenants_abc.a.tenant_id
        )
        assert got == tenants_abc.a.tenant_id
        assert await conn.fetchval("SELECT count(*) FROM bookings") == 0
    finally:
        await conn.close()


async def test_sdk_refuses_queries_once_the_transaction_is_gone(
    hdb: Database, tenants_abc: TenantSet
) -> None:
    async with hdb.tenant(_ctx(tenants_abc.a.tenant_id)) as tx:
        conn = tx.connection  # type: ignore[attr-defined]
        await conn.execute("COMMIT")  # ended behind the SDK's back
        with pytest.raises(errors.ConfigurationError, match="not inside a transaction"):
            await tx.one(_count("bookings"), ())
        await conn.execute("BEGIN")  # let the block end normally


# -- I-16 plan-cache safety ------------------------------------------------------------------------


@pytest.mark.parametrize("cache", [100, 0], ids=["statement-cache", "pgbouncer-no-cache"])
@pytest.mark.parametrize("mode", ["auto", "force_generic_plan"])
async def test_cached_plans_never_serve_another_tenant(
    make_db: MakeDb, items_pg: LocalDatabase, mode: str, cache: int
) -> None:
    a, b = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 3)
    await seed_items(items_pg.admin_dsn, b, 5)
    db = make_db(pool={"max_size": 1, "min_size": 1, "statement_cache_size": cache})
    async with db:
        for run in range(12):
            tenant = (a, b)[run % 2]
            async with db.tenant(_ctx(tenant)) as tx:
                await tx.exec(SET_PLAN_CACHE_MODE, (mode,))
                every = await tx.many(LIST_ITEMS, ())  # parameterless
                some = await tx.many(LIST_ITEMS_FROM, (2,))  # parameterised
                one = await tx.one(GET_ITEM, (1,))
                count = await tx.one(COUNT_ITEMS, ())
                explicit = await tx.one(GET_ITEM_OF, ((b, a)[run % 2], 1))
            assert {i.tenant_id for i in every} == {tenant}
            assert len(every) == (3, 5)[run % 2]
            assert {i.tenant_id for i in some} == {tenant}
            assert one is not None
            assert one.tenant_id == tenant
            assert count is not None
            assert count.n == (3, 5)[run % 2]
            assert explicit is None  # asking for the other tenant by key finds nothing


# -- I-17 bulk and maintenance paths ---------------------------------------------------------------


async def test_truncate_is_refused(make_db: MakeDb, items_pg: LocalDatabase) -> None:
    other = new_tenant()
    await seed_items(items_pg.admin_dsn, other, 2)
    db = make_db()
    async with db:
        with pytest.raises(errors.InsufficientPrivilege) as info:
            async with db.tenant(_ctx(new_tenant())) as tx:
                await tx.exec(TRUNCATE_ITEMS, ())
        async with db.admin(reason="check") as adm:
            rows = await adm.many(LIST_ITEMS, ())
    assert info.value.sqlstate == "42501"
    assert sum(1 for r in rows if r.tenant_id == other) == 2


async def test_copy_to_returns_only_own_rows(make_db: MakeDb, items_pg: LocalDatabase) -> None:
    mine, other = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, mine, 3)
    await seed_items(items_pg.admin_dsn, other, 4)
    db = make_db()
    out = io.BytesIO()
    async with db, db.tenant(_ctx(mine), readonly=True) as tx:
        await tx.connection.copy_from_table("items", output=out)  # type: ignore[attr-defined]
    lines = out.getvalue().decode().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(mine) for line in lines)
