"""The tenant lane through a real transaction pooler (issue 14 part 2): pgbouncer, Debian's
1.18, ``pool_mode = transaction`` (``fix_pgbouncer``; skipped with a reason without it).

What must hold when many client connections share a few server connections: tenant blocks
work with ``statement_cache_size=0``; 200 concurrent tenants see only their own rows (every
row checked); the session reset in the tenant BEGIN still clears what a previous client left
on the shared backend; the migration runner refuses a pooler with a clear error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import asyncpg
import msgspec
import pytest
from fix_database import COPY_ITEMS, LIST_ITEMS, SESSION, new_tenant
from fix_pgbouncer import NO_PGBOUNCER, PGBOUNCER, VERSION

from tenantdb import errors
from tenantdb.admin import migrate
from tenantdb.admin.migrate import MigrationError
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDatabase, Roles
from tenantdb.local.pgbouncer import LocalPgBouncer
from tenantdb.query import Command, Query

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"
TASKS = 200
ROWS_PER_TENANT = 145  # 200 x 145 = 29,000 rows, the size of the first trial
SERVER_CONNECTIONS = 5


def _exec(sql: str) -> Query[Any]:
    return Query(name="TenantSql", command=Command.EXEC, sql=sql, data_api_sql=sql)


class _Pid(msgspec.Struct, frozen=True):
    pid: int


_PID: Query[_Pid] = Query(
    name="Pid",
    command=Command.ONE,
    sql="SELECT pg_backend_pid()",
    data_api_sql="SELECT pg_backend_pid()",
    row=_Pid,
    from_record=lambda r: _Pid(r[0]),
)


def _pooled(bouncer: LocalPgBouncer, items_pg: LocalDatabase, **pool: Any) -> Database:
    pool.setdefault("statement_cache_size", 0)
    return Database(
        admin=items_pg.admin_dsn,
        tenant=bouncer.dsn(Roles.TENANT, items_pg.name),
        pool=PoolOptions(**pool),
    )


async def test_tenant_blocks_run_through_pgbouncer_with_the_statement_cache_off(
    pgbouncer: LocalPgBouncer, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    async with _pooled(pgbouncer, items_pg) as db:
        ctx = TenantContext(tenant_id=tenant)
        async with db.tenant(ctx) as tx:
            assert await tx.copy(COPY_ITEMS, [(tenant, i, f"n{i}") for i in range(3)]) == 3
        async with db.tenant(ctx, readonly=True) as tx:
            rows = await tx.many(LIST_ITEMS, ())
    assert [(r.tenant_id, r.id) for r in rows] == [(tenant, i) for i in range(3)]


async def test_200_tenants_share_5_server_connections_without_a_foreign_row(
    pgbouncer: LocalPgBouncer, items_pg: LocalDatabase
) -> None:
    tenants = [new_tenant() for _ in range(TASKS)]
    seen: dict[str, list[Any]] = {}
    pids: set[int] = set()

    async def one_tenant(tenant: str) -> None:
        ctx = TenantContext(tenant_id=tenant)
        async with db.tenant(ctx) as tx:
            rows = [(tenant, i, f"{tenant[:8]}-{i}") for i in range(ROWS_PER_TENANT)]
            assert await tx.copy(COPY_ITEMS, rows) == ROWS_PER_TENANT
            pid = await tx.one(_PID, ())
            assert pid is not None
            pids.add(pid.pid)
        async with db.tenant(ctx, readonly=True) as tx:
            seen[tenant] = await tx.many(LIST_ITEMS, ())
            pid = await tx.one(_PID, ())
            assert pid is not None
            pids.add(pid.pid)

    pooled = _pooled(pgbouncer, items_pg, max_size=50, acquire_timeout=60.0)
    async with pooled as db, anyio.create_task_group() as tg:
        for tenant in tenants:
            tg.start_soon(one_tenant, tenant)
    assert len(pids) <= SERVER_CONNECTIONS  # 50 client connections, at most 5 backends
    total = 0
    for tenant in tenants:
        rows = seen[tenant]
        assert all(r.tenant_id == tenant for r in rows), "a foreign row crossed tenants"
        assert sorted(r.id for r in rows) == list(range(ROWS_PER_TENANT))
        total += len(rows)
    assert total == TASKS * ROWS_PER_TENANT == 29_000


async def test_the_begin_reset_clears_what_another_client_left_on_the_shared_backend(
    pgbouncer_one: LocalPgBouncer, items_pg: LocalDatabase
) -> None:
    """Two Databases = two client connections; pgbouncer has one server connection, so the
    second client's block runs on the backend the first one just dirtied."""
    a, b = new_tenant(), new_tenant()
    async with (
        _pooled(pgbouncer_one, items_pg, max_size=1) as first,
        _pooled(pgbouncer_one, items_pg, max_size=1) as second,
    ):
        async with first.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.copy(COPY_ITEMS, [(a, 1, "a's row")])
        async with first.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.exec(
                _exec("SELECT set_config('app.current_tenant_id', '" + a + "', false)"), ()
            )
            await tx.exec(_exec("DECLARE leak CURSOR WITH HOLD FOR SELECT name FROM items"), ())
            await tx.exec(_exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"), ())
            first_pid = await tx.one(SESSION, ())
        async with second.tenant(TenantContext(tenant_id=b)) as tx:
            session = await tx.one(SESSION, ())
            assert session is not None and first_pid is not None
            assert session.pid == first_pid.pid  # the same backend, another client
            assert session.tenant == b
            assert session.session_app_settings == 0
            assert session.read_only == "off"
            assert await tx.many(LIST_ITEMS, ()) == []  # a's row stays a's
            await tx.copy(COPY_ITEMS, [(b, 1, "b's row")])  # writable despite the session default
        with pytest.raises(errors.QueryError, match="leak"):  # the WITH HOLD cursor is gone
            async with second.tenant(TenantContext(tenant_id=b)) as tx:
                await tx.exec(_exec("FETCH ALL FROM leak"), ())


async def test_migrations_through_pgbouncer_are_refused_with_a_clear_error(
    pgbouncer: LocalPgBouncer, fresh_db: LocalDatabase
) -> None:
    with pytest.raises(MigrationError, match="transaction pooler") as caught:
        await migrate.up(pgbouncer.dsn(Roles.ADMIN, fresh_db.name), SCHEMA_DIR)
    assert "direct" in str(caught.value)
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:  # nothing was applied
        assert await conn.fetchval("SELECT to_regclass('public.bookings')") is None
    finally:
        await conn.close()


@pytest.mark.skipif(PGBOUNCER is None, reason=NO_PGBOUNCER)
@pytest.mark.skipif(
    VERSION < (1, 21),
    reason=f"pgbouncer {VERSION[0]}.{VERSION[1]} has no max_prepared_statements (1.21+); "
    "no newer pgbouncer is packaged for this system",
)
async def test_the_statement_cache_works_with_max_prepared_statements(
    local_pg: Any, items_pg: LocalDatabase
) -> None:
    async with LocalPgBouncer(local_pg, pool_size=2, max_prepared_statements=100) as bouncer:
        tenants = [new_tenant() for _ in range(20)]
        async with _pooled(bouncer, items_pg, statement_cache_size=100, max_size=10) as db:

            async def one(tenant: str) -> None:
                async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
                    await tx.copy(COPY_ITEMS, [(tenant, 1, "x")])
                for _ in range(3):
                    async with db.tenant(TenantContext(tenant_id=tenant), readonly=True) as tx:
                        rows = await tx.many(LIST_ITEMS, ())
                        assert [r.tenant_id for r in rows] == [tenant]

            async with anyio.create_task_group() as tg:
                for tenant in tenants:
                    tg.start_soon(one, tenant)
