"""The tenant-lane contract, run on BOTH transports (``lane_db``: ids ``asyncpg``/``data_api``).

Same expected values, same Python types, same ``tenantdb.errors`` classes on each lane:
read and write isolation (RLS.md I-8, I-10), no/other context, savepoints, tenant_batch,
readonly, constraint violations, cancellation, swallowed errors, isolation levels. Writes to the
shared fixture tenants happen in blocks that are always rolled back (``_RollbackError``).
"""

from __future__ import annotations

import decimal
import uuid
from typing import Any

import anyio
import msgspec
import pytest
from fix_lanes import LANES, open_lane_db
from fix_schema import FIXTURE_COUNTS, TENANT_TABLES, TenantSet
from hospitality import bookings, models, properties, rooms, users

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Command, Param, Query


class _N(msgspec.Struct, frozen=True):
    n: int


class _RollbackError(Exception):
    """Raised at the end of a block to throw its writes away."""


def _count(table: str, where: str = "", api_where: str = "", **hints: str) -> Query[_N]:
    params = tuple(
        Param(name=name, number=i, pg_type="uuid", type_hint=hint)
        for i, (name, hint) in enumerate(hints.items(), 1)
    )
    return Query(
        name=f"Count_{table}",
        command=Command.ONE,
        sql=f"SELECT count(*) FROM {table} {where}",
        data_api_sql=f"SELECT count(*) FROM {table} {api_where}",
        params=params,
        row=_N,
        from_record=lambda r: _N(r[0]),
    )


def _foreign(table: str) -> Query[_N]:
    return _count(table, "WHERE tenant_id <> $1", "WHERE tenant_id <> :t", t="UUID")


def _ctx(tenant_id: str, user_id: str | None = None) -> TenantContext:
    return TenantContext(tenant_id=tenant_id, user_id=user_id)


def _exec(name: str, sql: str, api_sql: str, *hints: str | None) -> Query[Any]:
    params = tuple(
        Param(name=f"p{i}", number=i, pg_type="uuid", type_hint=h) for i, h in enumerate(hints, 1)
    )
    return Query(name=name, command=Command.EXECROWS, sql=sql, data_api_sql=api_sql, params=params)


_SETTING = Query(
    name="CurrentTenant",
    command=Command.ONE,
    sql="SELECT current_setting('app.current_tenant_id', true) AS v",
    data_api_sql="SELECT current_setting('app.current_tenant_id', true) AS v",
    row=None,
    from_record=lambda r: r[0],
)
_ISOLATION = Query(
    name="ShowIsolation",
    command=Command.ONE,
    sql="SELECT current_setting('transaction_isolation') AS v",
    data_api_sql="SELECT current_setting('transaction_isolation') AS v",
    from_record=lambda r: r[0],
)


# -- I-8 read isolation ----------------------------------------------------------------------


async def test_each_tenant_reads_exactly_its_own_rows(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    for rows, populated in ((tenants_abc.a, True), (tenants_abc.b, True), (tenants_abc.c, False)):
        async with lane_db.tenant(_ctx(rows.tenant_id), readonly=True) as tx:
            for table in TENANT_TABLES:
                total = await tx.one(_count(table), ())
                foreign = await tx.one(_foreign(table), (uuid.UUID(rows.tenant_id),))
                assert foreign == _N(0), (rows.slug, table)
                assert total == _N(FIXTURE_COUNTS[table] if populated else 0), (rows.slug, table)
            assert await tx.one(_count("tenants"), ()) == _N(1)
            assert await tx.one(_SETTING, ()) == rows.tenant_id


async def test_unknown_tenant_sees_nothing_and_generated_reads_are_empty(
    lane_db: Database,
) -> None:
    async with lane_db.tenant(_ctx(str(uuid.uuid4())), readonly=True) as tx:
        for table in (*TENANT_TABLES, "tenants"):
            assert await tx.one(_count(table), ()) == _N(0), table
        assert await users.list_users(tx) == []
        assert await bookings.count_bookings(tx) == 0


async def test_missing_context_is_refused_before_any_call(lane_db: Database) -> None:
    with pytest.raises(errors.ContextError):
        lane_db.tenant(None)  # type: ignore[arg-type]
    with pytest.raises(errors.ContextError):
        TenantContext(tenant_id="not-a-uuid")


# -- I-10 write isolation ---------------------------------------------------------------------


async def test_tenant_cannot_change_or_create_other_tenants_rows(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a, b = tenants_abc.a, tenants_abc.b
    b_booking = uuid.UUID(b.bookings[0])

    async def attempt() -> None:
        async with lane_db.tenant(_ctx(a.tenant_id, a.users[0])) as tx:
            assert await bookings.soft_delete_booking(tx, id=b_booking) == 0
            st = await bookings.update_booking_status(
                tx, status=models.BookingStatus.CANCELLED, id=b_booking
            )
            assert st is None
            assert await rooms.delete_room(tx, id=uuid.UUID(b.rooms[2])) == 0
            raise _RollbackError

    with pytest.raises(_RollbackError):
        await attempt()
    steal = _exec(
        "StealGuest",
        "INSERT INTO guests (tenant_id, full_name) VALUES ($1, 'Mallory')",
        "INSERT INTO guests (tenant_id, full_name) VALUES (:p1, 'Mallory')",
        "UUID",
    )
    with pytest.raises(errors.InsufficientPrivilege):
        async with lane_db.tenant(_ctx(a.tenant_id)) as tx:
            await tx.execrows(steal, (uuid.UUID(b.tenant_id),))
    async with lane_db.tenant(_ctx(b.tenant_id), readonly=True) as tx:
        row = await bookings.get_booking(tx, id=b_booking)
        assert row is not None and row.status is models.BookingStatus.CONFIRMED
        assert await tx.one(_count("guests"), ()) == _N(FIXTURE_COUNTS["guests"])


# -- errors: same class on both lanes ---------------------------------------------------------


async def test_constraint_violations_map_to_the_same_classes(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    ctx = _ctx(tenants_abc.a.tenant_id)
    with pytest.raises(errors.UniqueViolation) as unique:
        async with lane_db.tenant(ctx) as tx:
            await users.create_user(
                tx, email="owner@example.com", display_name="Dup", role=models.UserRole.OWNER
            )
    assert unique.value.sqlstate == "23505" and unique.value.query == "CreateUser"
    with pytest.raises(errors.ForeignKeyViolation) as fk:
        async with lane_db.tenant(ctx) as tx:
            await rooms.create_room(
                tx,
                property_id=uuid.uuid4(),
                number="1",
                room_type="single",
                capacity=1,
                nightly_rate=decimal.Decimal("1"),
                status=models.RoomStatus.AVAILABLE,
            )
    assert fk.value.sqlstate == "23503"
    with pytest.raises(errors.CheckViolation):
        async with lane_db.tenant(ctx) as tx:
            await properties.create_property(
                tx, code="bad code", name="x", city="y", country=None, timezone="UTC"
            )


async def test_readonly_transactions_refuse_writes(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a
    with pytest.raises(errors.ReadOnlySqlTransaction):
        async with lane_db.tenant(_ctx(a.tenant_id), readonly=True) as tx:
            await bookings.soft_delete_booking(tx, id=uuid.UUID(a.bookings[0]))
    async with lane_db.tenant(_ctx(a.tenant_id), readonly=True) as tx:
        assert await bookings.get_booking(tx, id=uuid.UUID(a.bookings[0])) is not None


async def test_swallowed_error_makes_the_block_raise_and_write_nothing(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a

    async def swallow() -> None:
        async with lane_db.tenant(_ctx(a.tenant_id)) as tx:
            await users.update_user_role(
                tx, role=models.UserRole.FRONT_DESK, id=uuid.UUID(a.users[0])
            )
            try:
                await users.create_user(
                    tx, email="desk@example.com", display_name="Dup", role=models.UserRole.OWNER
                )
            except errors.UniqueViolation:
                pass
            else:
                pytest.fail("the duplicate email was accepted")

    with pytest.raises(errors.InFailedSqlTransaction):
        await swallow()
    async with lane_db.tenant(_ctx(a.tenant_id), readonly=True) as tx:
        owner = await users.get_user(tx, id=uuid.UUID(a.users[0]))
        assert owner is not None and owner.role is models.UserRole.OWNER


async def test_query_after_the_block_is_refused(lane_db: Database, tenants_abc: TenantSet) -> None:
    async with lane_db.tenant(_ctx(tenants_abc.a.tenant_id)) as tx:
        pass
    with pytest.raises(errors.ConfigurationError):
        await users.list_users(tx)


# -- savepoints, batches, cancellation --------------------------------------------------------


async def test_nested_block_is_a_savepoint_that_fails_alone(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a
    ctx = _ctx(a.tenant_id)

    async def nested() -> None:
        async with lane_db.tenant(ctx) as tx:
            await users.update_user_role(
                tx, role=models.UserRole.FRONT_DESK, id=uuid.UUID(a.users[0])
            )
            with pytest.raises(errors.UniqueViolation):
                await _duplicate_in_savepoint(lane_db, ctx)
            assert await tx.one(_SETTING, ()) == a.tenant_id  # the savepoint kept the tenant
            changed = await users.get_user(tx, id=uuid.UUID(a.users[0]))
            assert changed is not None and changed.role is models.UserRole.FRONT_DESK
            async with lane_db.tenant(ctx) as inner:  # a successful savepoint is released
                assert len(await users.list_users(inner)) == FIXTURE_COUNTS["users"]
            raise _RollbackError

    async def switch() -> None:
        async with lane_db.tenant(ctx), lane_db.tenant(_ctx(tenants_abc.b.tenant_id)):
            pass

    with pytest.raises(_RollbackError):
        await nested()
    with pytest.raises(errors.ContextError):
        await switch()


async def _duplicate_in_savepoint(db: Database, ctx: TenantContext) -> None:
    async with db.tenant(ctx) as inner:
        await users.create_user(
            inner, email="desk@example.com", display_name="D", role=models.UserRole.OWNER
        )


async def test_tenant_batch_is_ordered_and_atomic(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a
    ctx = _ctx(a.tenant_id)
    counted, listed = await lane_db.tenant_batch(
        ctx, [bookings.count_bookings, users.list_users], readonly=True
    )
    assert counted == 2
    assert [u.email for u in listed] == ["desk@example.com", "owner@example.com"]

    async def demote(tx: Any) -> Any:
        return await users.update_user_role(
            tx, role=models.UserRole.FRONT_DESK, id=uuid.UUID(a.users[0])
        )

    async def fail(tx: Any) -> Any:
        return await properties.create_property(
            tx, code="bad code", name="x", city="y", country=None, timezone="UTC"
        )

    with pytest.raises(errors.CheckViolation):
        await lane_db.tenant_batch(ctx, [demote, fail])
    async with lane_db.tenant(ctx, readonly=True) as tx:
        owner = await users.get_user(tx, id=uuid.UUID(a.users[0]))
        assert owner is not None and owner.role is models.UserRole.OWNER


async def test_cancellation_rolls_back(lane_db: Database, tenants_abc: TenantSet) -> None:
    a = tenants_abc.a
    email = f"cancel-{uuid.uuid4().hex[:8]}@example.com"
    inserted = anyio.Event()

    async def work() -> None:
        async with lane_db.tenant(_ctx(a.tenant_id)) as tx:
            await users.create_user(tx, email=email, display_name="C", role=models.UserRole.OWNER)
            inserted.set()
            await anyio.sleep(60)

    async with anyio.create_task_group() as tg:
        tg.start_soon(work)
        await inserted.wait()
        tg.cancel_scope.cancel()
    async with lane_db.tenant(_ctx(a.tenant_id), readonly=True) as tx:
        assert await users.get_user_by_email(tx, email=email) is None
        assert len(await users.list_users(tx)) == FIXTURE_COUNTS["users"]


async def test_isolation_levels_apply(lane_db: Database, tenants_abc: TenantSet) -> None:
    ctx = _ctx(tenants_abc.a.tenant_id)
    for level in ("serializable", "repeatable read", "read committed"):
        async with lane_db.tenant(ctx, isolation=level) as tx:
            assert await tx.one(_ISOLATION, ()) == level
            assert await tx.one(_SETTING, ()) == ctx.tenant_id
    async with lane_db.tenant(ctx, readonly=True, isolation="serializable") as tx:
        assert await tx.one(_ISOLATION, ()) == "serializable"


async def test_stream_pages_match_many(lane_db: Database, tenants_abc: TenantSet) -> None:
    async with lane_db.tenant(_ctx(tenants_abc.a.tenant_id), readonly=True) as tx:
        full = await users.list_users(tx)
        paged = [u async for u in users.iter_list_users(tx, page_size=1)]
        assert paged == full and len(full) == FIXTURE_COUNTS["users"]


_SLEEP = Query(
    name="Sleep",
    command=Command.ONE,
    sql="SELECT pg_sleep(2)::text",
    data_api_sql="SELECT pg_sleep(2)::text",
    from_record=lambda r: r[0],
)


@pytest.mark.parametrize("kind", LANES)
async def test_transaction_local_statement_timeout_cancels_on_both_lanes(
    kind: str, tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    options = PoolOptions(statement_timeout=0.2)
    async with open_lane_db(kind, tenants_abc, gateway, pool=options) as db:
        with pytest.raises(errors.QueryCanceled) as info:
            async with db.tenant(_ctx(tenants_abc.a.tenant_id), readonly=True) as tx:
                await tx.one(_SLEEP, ())
        assert info.value.sqlstate == "57014" and info.value.query == "Sleep"
        async with db.tenant(_ctx(tenants_abc.a.tenant_id), readonly=True) as tx:
            assert await tx.one(_SETTING, ()) == tenants_abc.a.tenant_id


async def test_metrics_record_each_query_and_transaction_once(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    ctx = _ctx(tenants_abc.a.tenant_id)
    before = lane_db.metrics()
    async with lane_db.tenant(ctx, readonly=True) as tx:
        await bookings.count_bookings(tx)
        await users.list_users(tx)
    with pytest.raises(errors.CheckViolation):
        async with lane_db.tenant(ctx) as tx:
            await properties.create_property(
                tx, code="bad code", name="x", city="y", country=None, timezone="UTC"
            )
    after = lane_db.metrics()
    assert after.total_transactions - before.total_transactions == 2
    assert after.errors - before.errors == 1
    assert after.total_context_sets - before.total_context_sets == 2
    assert after.total_queries - before.total_queries == 3
    assert after.query_errors - before.query_errors == 1
    assert {"CountBookings", "ListUsers", "CreateProperty"} <= after.per_query.keys()
