"""``Database``: configuration, lifecycle, timeouts, errors, executor commands, metrics, health."""

from __future__ import annotations

import anyio
import asyncpg
import pytest
import structlog
from fix_database import (
    BATCH_INSERT,
    COPY_ITEMS,
    COUNT_ITEMS,
    GET_ITEM,
    INSERT_ITEM,
    LIST_ITEMS,
    LIST_ITEMS_FROM,
    SESSION,
    SLEEP,
    MakeDb,
    PgProxy,
    admin_rows,
    new_tenant,
    seed_items,
)
from fix_schema import SCHEMA_DIR

from tenantdb import errors
from tenantdb.context import TenantContext, slug_id
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDatabase, LocalPostgres

# -- configuration ---------------------------------------------------------------------------------


def test_database_needs_a_lane() -> None:
    with pytest.raises(errors.ConfigurationError, match="admin= and/or tenant="):
        Database()


def test_dsns_must_be_postgresql_urls() -> None:
    with pytest.raises(errors.ConfigurationError, match="tenant lane"):
        Database(tenant="mysql://x@y/z")
    with pytest.raises(errors.ConfigurationError, match="DataApi"):
        Database(tenant=b"postgresql://x@y/z")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"min_size": 5, "max_size": 2},
        {"max_size": 0},
        {"acquire_timeout": 0},
        {"transaction_timeout": -1},
        {"statement_timeout": 0},
    ],
    ids=["min-over-max", "empty-pool", "zero-acquire", "negative-tx", "zero-statement"],
)
def test_pool_options_refuse_unbounded_or_empty_settings(options: dict[str, float]) -> None:
    with pytest.raises(errors.ConfigurationError):
        PoolOptions(**options)  # type: ignore[arg-type]


def test_from_env_reads_the_brief_variables() -> None:
    db = Database.from_env(
        {
            "DATABASE_URL": "postgresql://app_admin@h/db",
            "TENANT_DATABASE_URL": "postgresql://app_tenant@h/db",
            "USE_DATA_API": "false",
        }
    )
    assert db._lanes()[0].name == "admin"
    assert [(lane.name, lane.transport) for lane in db._lanes()] == [
        ("admin", "asyncpg"),
        ("tenant", "asyncpg"),
    ]


def test_from_env_selects_the_data_api_tenant_lane() -> None:
    db = Database.from_env(
        {
            "DATABASE_URL": "postgresql://app_admin@h/db",
            "USE_DATA_API": "1",
            "DB_CLUSTER_ARN": "arn:aws:rds:eu-west-1:123456789012:cluster:c",
            "DB_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s",
            "DATABASE_NAME": "app",
            "AWS_REGION": "eu-west-1",
        }
    )
    assert [(lane.name, lane.transport) for lane in db._lanes()] == [
        ("admin", "asyncpg"),
        ("tenant", "data_api"),
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "DATABASE_URL"),
        ({"TENANT_DATABASE_URL": "postgresql://t@h/d", "USE_DATA_API": "maybe"}, "USE_DATA_API"),
        ({"USE_DATA_API": "true"}, "DB_CLUSTER_ARN|Data API lane"),
    ],
    ids=["nothing-set", "bad-flag", "data-api-incomplete"],
)
def test_from_env_errors_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=message):
        Database.from_env(env)


async def test_lanes_must_be_opened(items_pg: LocalDatabase) -> None:
    db = Database(tenant=items_pg.tenant_dsn)
    with pytest.raises(errors.ConfigurationError, match="async with db"):
        async with db.tenant(TenantContext(tenant_id=new_tenant())):
            pass


async def test_missing_lane_is_a_configuration_error(items_pg: LocalDatabase) -> None:
    async with Database(admin=items_pg.admin_dsn) as db:
        with pytest.raises(errors.ConfigurationError, match="no tenant lane"):
            db.tenant(TenantContext(tenant_id=new_tenant()))
    async with Database(tenant=items_pg.tenant_dsn) as db:
        with pytest.raises(errors.ConfigurationError, match="no admin lane"):
            db.admin()


async def test_context_from_another_validator_is_refused(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        with pytest.raises(errors.ContextError, match="validated by"):
            db.tenant(TenantContext(tenant_id="acme", validator=slug_id))


async def test_unreachable_server_is_a_transport_error(local_pg: LocalPostgres) -> None:
    port = local_pg.port
    db = Database(
        tenant=f"postgresql://app_tenant@127.0.0.1:{port + 1 if port < 65535 else 1}/x",
        pool=PoolOptions(connect_timeout=2),
    )
    with pytest.raises(errors.TransportError):
        await db.open()


# -- timeouts --------------------------------------------------------------------------------------


async def test_pool_acquire_timeout(make_db: MakeDb) -> None:
    db = make_db(pool={"max_size": 1, "acquire_timeout": 0.2})
    holding, done = anyio.Event(), anyio.Event()

    async def hold() -> None:
        async with db.tenant(TenantContext(tenant_id=new_tenant())):
            holding.set()
            await done.wait()

    async with db, anyio.create_task_group() as tg:
        tg.start_soon(hold)
        await holding.wait()
        with pytest.raises(errors.PoolTimeoutError) as info:
            async with db.tenant(TenantContext(tenant_id=new_tenant())):
                pass
        done.set()
    assert info.value.retryable


async def test_transaction_timeout_rolls_back_and_frees_the_connection(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db(pool={"max_size": 1})
    async with db:
        with pytest.raises(errors.TransactionTimeoutError):  # noqa: PT012 - the block raises
            async with db.tenant(ctx, timeout=0.3) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
                await tx.exec(SLEEP, (30.0,))
        async with db.tenant(ctx) as tx:
            assert await tx.many(LIST_ITEMS, ()) == []
            session = await tx.one(SESSION, ())
    assert session is not None
    assert session.session_app_settings == 0


async def test_deadline_covers_caller_code_and_leaves_no_stray_cancellation(
    make_db: MakeDb,
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db(pool={"max_size": 1})
    async with db:
        with anyio.CancelScope() as outer:
            with pytest.raises(errors.TransactionTimeoutError):  # noqa: PT012 - the block raises
                async with db.tenant(ctx, timeout=0.2) as tx:
                    await tx.one(COUNT_ITEMS, ())
                    await anyio.sleep(30)  # the caller's own slow work
            await anyio.sleep(0.01)  # no cancellation left pending for this task
        assert not outer.cancelled_caught
        with anyio.move_on_after(0.2) as scope:  # the caller's own scope still wins
            async with db.tenant(ctx, timeout=30):
                await anyio.sleep(30)
        assert scope.cancelled_caught
        async with db.tenant(ctx) as tx:
            assert await tx.one(COUNT_ITEMS, ()) is not None


async def test_statement_timeout_is_server_side_and_transaction_local(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db(pool={"max_size": 1, "statement_timeout": 0.2})
    async with db:
        with pytest.raises(errors.QueryCanceled) as info:
            async with db.tenant(ctx) as tx:
                await tx.exec(SLEEP, (30.0,))
        async with db.tenant(ctx) as tx:
            assert await tx.one(COUNT_ITEMS, ()) is not None
    assert info.value.sqlstate == "57014"
    assert info.value.query == "Sleep"


# -- errors ----------------------------------------------------------------------------------------


async def test_server_errors_carry_sqlstate_and_query_name(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        async with db.tenant(ctx) as tx:
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
        with pytest.raises(errors.UniqueViolation) as info:
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
    err = info.value
    assert err.sqlstate == "23505"
    assert "InsertItem" in str(err)
    assert "23505" in str(err)
    assert not isinstance(err, asyncpg.PostgresError)


async def test_wrong_argument_type_is_a_query_error(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        with pytest.raises(errors.QueryError, match="GetItem"):
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.one(GET_ITEM, ("not an int",))


async def test_connection_lost_is_retryable_and_the_pool_recovers(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase
) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name), pool={"max_size": 1})
    async with db:
        with pytest.raises(errors.ConnectionLostError) as info:  # noqa: PT012 - the block raises
            async with db.tenant(ctx) as tx:
                await tx.one(COUNT_ITEMS, ())
                pg_proxy.cut()
                with pytest.raises(errors.ConnectionLostError):
                    await tx.one(COUNT_ITEMS, ())
                await tx.one(COUNT_ITEMS, ())  # caught and retried on the dead transaction
        assert info.value.retryable
        async with db.tenant(ctx) as tx:
            count = await tx.one(COUNT_ITEMS, ())
    assert count is not None
    assert count.n == 0


# -- executor commands -----------------------------------------------------------------------------


async def test_copy_on_the_tenant_lane_inserts_under_rls(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """COPY FROM is refused under RLS: the tenant lane bulk-inserts with unnest instead."""
    mine, other = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, other, 2)
    before = await admin_rows(items_pg.admin_dsn, other)
    db = make_db()
    async with db:
        async with db.tenant(TenantContext(tenant_id=mine)) as tx:
            n = await tx.copy(COPY_ITEMS, [(mine, i, f"bulk-{i}") for i in range(1, 101)])
            assert n == 100
            assert len(await tx.many(LIST_ITEMS, ())) == 100
        with pytest.raises(errors.InsufficientPrivilege):
            async with db.tenant(TenantContext(tenant_id=mine)) as tx:
                await tx.copy(COPY_ITEMS, [(mine, 500, "ok"), (other, 501, "planted")])
    assert await admin_rows(items_pg.admin_dsn, other) == before
    assert len(await admin_rows(items_pg.admin_dsn, mine)) == 100


async def test_copy_on_the_admin_lane_uses_copy(make_db: MakeDb, items_pg: LocalDatabase) -> None:
    a, b = new_tenant(), new_tenant()
    db = make_db()
    async with db, db.admin(reason="test bulk load") as adm:
        n = await adm.copy(COPY_ITEMS, [(a, 1, "a1"), (b, 1, "b1"), (b, 2, "b2")])
    assert n == 3
    assert len(await admin_rows(items_pg.admin_dsn, b)) == 2


async def test_batch_exec_stream_and_batch_reads(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db, db.tenant(ctx) as tx:
        await tx.batch_exec(BATCH_INSERT, [(ctx.tenant_id, i, f"n{i}") for i in range(1, 1201)])
        streamed = [item.id async for item in tx.stream(LIST_ITEMS_FROM, (1,), page_size=100)]
        ones = await tx.batch_one(GET_ITEM, [(5,), (9999,), (7,)])
        manys = await tx.batch_many(LIST_ITEMS_FROM, [(1199,), (1201,)])
        assert await tx.execrows(BATCH_INSERT, (ctx.tenant_id, 2000, "x")) == 1
    assert streamed == list(range(1, 1201))
    assert [None if o is None else o.id for o in ones] == [5, None, 7]
    assert [[i.id for i in m] for m in manys] == [[1199, 1200], []]


async def test_stream_refuses_to_continue_after_the_block(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    await seed_items(items_pg.admin_dsn, tenant, 10)
    db = make_db()
    async with db:
        async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
            rows = tx.stream(LIST_ITEMS_FROM, (1,), page_size=2)
            first = await anext(rows)
        with pytest.raises(errors.TenantDBError):
            await anext(rows)
        await rows.aclose()  # type: ignore[attr-defined]
    assert first.id == 1


# -- admin lane, metrics, health -------------------------------------------------------------------


async def test_admin_lane_bypasses_rls_and_is_logged(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    a, b = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 1)
    await seed_items(items_pg.admin_dsn, b, 1)
    db = make_db()
    async with db:
        with structlog.testing.capture_logs() as logs:
            async with db.admin(reason="support ticket 42") as adm:
                tenants = {i.tenant_id for i in await adm.many(LIST_ITEMS, ())}
    assert {a, b} <= tenants
    event = next(e for e in logs if e["event"] == "tenantdb.admin_transaction")
    assert event["reason"] == "support ticket 42"
    line = _line_of('reason="support ticket 42") as adm')
    assert event["caller"].endswith(f"test_database.py:{line}")


def _line_of(marker: str) -> int:
    with open(__file__, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if marker in line and "_line_of" not in line:
                return number
    raise AssertionError(marker)


async def test_metrics_count_transactions_queries_and_errors(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        async with db.tenant(ctx) as tx:
            await tx.one(COUNT_ITEMS, ())
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
        with pytest.raises(errors.UniqueViolation):
            await db.tenant_batch(ctx, [lambda tx: tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))])
    snap = db.metrics()
    assert snap.total_transactions == 2
    assert snap.total_context_sets == 2
    assert snap.errors >= 1
    assert ctx.tenant_id in snap.per_tenant
    assert {"CountItems", "InsertItem"} <= set(snap.per_query)


async def test_health_reports_version_lanes_and_migrations(migrated_pg: LocalPostgres) -> None:
    db = Database(admin=migrated_pg.admin_dsn, tenant=migrated_pg.tenant_dsn, migrations=SCHEMA_DIR)
    async with db:
        health = await db.health()
    assert health.reachable
    assert health.server_version is not None
    assert health.server_version.startswith("18")
    assert health.lanes == ("admin:asyncpg", "tenant:asyncpg")
    assert health.migrations_current is True
    assert health.ok, health.problems


async def test_health_reports_pending_migrations(items_pg: LocalDatabase) -> None:
    db = Database(admin=items_pg.admin_dsn, tenant=items_pg.tenant_dsn, migrations=SCHEMA_DIR)
    async with db:
        health = await db.health()
    assert health.reachable
    assert health.migrations_current is False
    assert not health.ok
    assert any("pending" in p for p in health.problems)


async def test_health_runs_the_schema_audit(fresh_db: LocalDatabase) -> None:
    conn = await asyncpg.connect(fresh_db.superuser_dsn)
    try:  # a tenant table with RLS forgotten: I-2
        await conn.execute(
            "CREATE TABLE forgotten (tenant_id uuid NOT NULL, id int, PRIMARY KEY (tenant_id, id));"
            "ALTER TABLE forgotten OWNER TO app_owner;"
            "GRANT SELECT ON forgotten TO app_tenant"
        )
    finally:
        await conn.close()
    async with Database(admin=fresh_db.admin_dsn, tenant=fresh_db.tenant_dsn) as db:
        health = await db.health()
    assert health.reachable
    assert health.audit_passed is False
    assert any("I-2" in p and "forgotten" in p for p in health.problems), health.problems


async def test_close_is_idempotent_and_waits_for_nothing(make_db: MakeDb) -> None:
    db = make_db()
    await db.open()
    await db.open()
    with anyio.fail_after(10):
        await db.close()
        await db.close()
