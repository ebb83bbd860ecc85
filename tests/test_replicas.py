"""Read replicas (issue 14 part 1) against a real streaming standby (``fix_replica``).

Which server answered is read from the server (``pg_is_in_recovery()``), never inferred from
timing; lag is produced by pausing replay, failure by stopping the standby.
"""

from __future__ import annotations

import asyncpg
import pytest
import test_isolation_lanes as sweep
from fix_database import COUNT_ITEMS, GET_ITEM, INSERT_ITEM, Count, Item, new_tenant
from fix_replica import CATCH_UP_CAP, SERVER, MakeReplicaDb, Standby, nudge_wal
from fix_schema import TenantSet
from polling import eventually

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg import sql
from tenantdb.drivers.asyncpg.replicas import ReplicaOptions, parse_lsn, replica_dsn
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.local import LocalDatabase
from tenantdb.local.standby import LocalStandby

ON_STANDBY = Standby(in_recovery=True)
ON_PRIMARY = Standby(in_recovery=False)


def _reads(db: Database) -> int:
    return sum(r.reads for r in db.replica_status())


async def test_read_only_blocks_go_to_the_replica_and_the_rest_to_the_primary(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase
) -> None:
    db = await make_replica_db(items_pg)
    ctx = TenantContext(tenant_id=new_tenant())
    async with db.tenant(ctx, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY
        assert await tx.one(COUNT_ITEMS, ()) == Count(0)  # same RLS transaction there
    async with db.tenant(ctx) as tx:
        assert await tx.one(SERVER, ()) == ON_PRIMARY
    async with db.admin(readonly=True) as adm:
        assert await adm.one(SERVER, ()) == ON_STANDBY
    async with db.admin() as adm:
        assert await adm.one(SERVER, ()) == ON_PRIMARY
    assert _reads(db) == 2


async def test_read_your_writes_holds_while_replay_is_paused(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase, standby: LocalStandby
) -> None:
    db = await make_replica_db(items_pg)
    tenant = new_tenant()
    writer = TenantContext(tenant_id=tenant, user_id=new_tenant())
    other_user = TenantContext(tenant_id=tenant, user_id=new_tenant())
    await standby.pause()
    async with db.tenant(writer) as tx:
        await tx.exec(INSERT_ITEM, (tenant, 1, "written"))
    token = db.commit_token(writer)
    assert token is not None
    # The writer's next read must see its write: the paused standby has not replayed it.
    async with db.tenant(writer, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_PRIMARY
        assert await tx.one(GET_ITEM, (1,)) == Item(tenant, 1, "written")
    # A context without the token reads the standby's older state.
    async with db.tenant(other_user, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY
        assert await tx.one(GET_ITEM, (1,)) is None
    # Across processes: the token travels as a string (cookie, header).
    async with Database(
        admin=items_pg.admin_dsn,
        tenant=items_pg.tenant_dsn,
        replicas=[f"postgresql://{standby.host}:{standby.port}"],
        replica_options=ReplicaOptions(poll_interval=0.05),
    ) as other_process:
        other_process.read_after(other_user, token)
        async with other_process.tenant(other_user, readonly=True) as tx:
            assert await tx.one(SERVER, ()) == ON_PRIMARY
            assert await tx.one(GET_ITEM, (1,)) == Item(tenant, 1, "written")
    await standby.resume()
    await nudge_wal(items_pg)

    async def replayed() -> bool:
        return all(
            parse_lsn(r.replay_lsn or "0/0") >= parse_lsn(token) for r in db.replica_status()
        )

    await eventually(replayed, cap=CATCH_UP_CAP)
    async with db.tenant(writer, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY
        assert await tx.one(GET_ITEM, (1,)) == Item(tenant, 1, "written")


async def test_a_read_may_wait_for_the_replica_to_catch_up(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase
) -> None:
    db = await make_replica_db(items_pg, wait=10.0, poll_interval=60.0)
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    async with db.tenant(ctx) as tx:
        await tx.exec(INSERT_ITEM, (tenant, 1, "waited for"))
    await nudge_wal(items_pg)
    # The monitor will not poll again for a minute: the read polls the standby itself.
    async with db.tenant(ctx, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY
        assert await tx.one(GET_ITEM, (1,)) == Item(tenant, 1, "waited for")


async def test_a_lagging_replica_is_skipped_and_comes_back(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase, standby: LocalStandby
) -> None:
    db = await make_replica_db(items_pg, max_lag=0.2)
    ctx = TenantContext(tenant_id=new_tenant())
    await standby.pause()
    async with db.admin() as adm:  # WAL the standby will not replay
        await adm.exec(INSERT_ITEM, (new_tenant(), 1, "lag"))

    async def state_is(state: str) -> bool:
        return [r.state for r in db.replica_status()] == [state]

    await eventually(lambda: state_is("lagging"))
    async with db.tenant(ctx, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_PRIMARY
    health = await db.health()
    assert health.replicas[0].state == "lagging"
    assert any("lagging" in p for p in health.problems)
    assert health.reachable
    await standby.resume()
    await eventually(lambda: state_is("ok"), cap=CATCH_UP_CAP)
    async with db.tenant(ctx, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY


async def test_a_replica_that_is_down_is_skipped_and_comes_back(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase, standby: LocalStandby
) -> None:
    db = await make_replica_db(items_pg)
    ctx = TenantContext(tenant_id=new_tenant())
    async with db.tenant(ctx, readonly=True) as tx:  # a pooled standby connection exists
        assert await tx.one(SERVER, ()) == ON_STANDBY
    await standby.stop()
    try:
        # Whether the monitor or the block notices first, the block runs on the primary.
        async with db.tenant(ctx, readonly=True) as tx:
            assert await tx.one(SERVER, ()) == ON_PRIMARY
        assert [r.state for r in db.replica_status()] == ["down"]
        health = await db.health()
        assert any("down" in p for p in health.problems)
        assert health.ok
    finally:
        await standby.start()

    async def back() -> bool:
        return [r.state for r in db.replica_status()] == ["ok"]

    await eventually(back, cap=CATCH_UP_CAP)
    async with db.tenant(ctx, readonly=True) as tx:
        assert await tx.one(SERVER, ()) == ON_STANDBY


async def test_isolation_sweep_holds_on_the_replica(
    make_replica_db: MakeReplicaDb, tenants_abc: TenantSet
) -> None:
    db = await make_replica_db(tenants_abc.pg)
    before = _reads(db)
    await sweep.test_each_tenant_reads_exactly_its_own_rows(db, tenants_abc)
    for mode in ("auto", "force_generic_plan"):
        await sweep.test_cached_plans_never_serve_another_tenant(db, tenants_abc, mode)
    assert _reads(db) - before == 3 + 2 * 12  # every block of the sweep ran on the standby


async def test_the_commit_reports_its_position_only_with_replicas(
    make_replica_db: MakeReplicaDb, items_pg: LocalDatabase
) -> None:
    assert sql.TENANT_COMMIT == "UNLISTEN *;COMMIT"  # unchanged without replicas
    assert sql.TENANT_COMMIT_LSN.startswith(sql.TENANT_COMMIT + ";DO ")
    db = await make_replica_db(items_pg)
    tenant = new_tenant()
    ctx = TenantContext(tenant_id=tenant)
    async with db.tenant(ctx, readonly=True) as tx:
        await tx.one(COUNT_ITEMS, ())
    assert db.commit_token(ctx) is None  # read-only blocks report nothing
    conn = await asyncpg.connect(items_pg.admin_dsn)
    try:
        async with db.tenant(ctx) as tx:
            await tx.exec(INSERT_ITEM, (tenant, 1, "x"))
        after = await conn.fetchval("SELECT pg_current_wal_insert_lsn()::text")
    finally:
        await conn.close()
    token = db.commit_token(ctx)
    assert token is not None
    assert parse_lsn(token) <= parse_lsn(after)
    with pytest.raises(errors.ConfigurationError, match="WAL position"):
        db.read_after(ctx, "not-a-token")


def test_replica_dsns_take_the_lanes_role_and_database() -> None:
    lane = "postgresql://app_tenant:pw@primary:5432/app"
    assert (
        replica_dsn("postgresql://standby:6432", lane)
        == "postgresql://app_tenant:pw@standby:6432/app"
    )
    assert replica_dsn("postgresql://u@standby/other", lane) == "postgresql://u@standby/other"
    with pytest.raises(errors.ConfigurationError):
        Database(tenant="postgresql://t@h/d", replicas="postgresql://r")  # type: ignore[arg-type]


def test_replicas_need_asyncpg_lanes() -> None:
    api = DataApi(resource_arn="arn:r", secret_arn="arn:s", database="d", region="us-east-1")
    with pytest.raises(errors.ConfigurationError, match="Data API"):
        Database(admin="postgresql://a@h/d", tenant=api, replicas=["postgresql://r"])


def test_replicas_come_from_the_environment() -> None:
    db = Database.from_env(
        {
            "DATABASE_URL": "postgresql://a@h/d",
            "TENANT_DATABASE_URL": "postgresql://t@h/d",
            "DATABASE_REPLICA_URLS": "postgresql://r1:5432, postgresql://r2:5432",
        }
    )
    assert [r.name for r in db.replica_status()] == ["r1:5432", "r2:5432"]
