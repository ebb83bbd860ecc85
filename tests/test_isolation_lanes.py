"""RLS.md I-8, I-10, I-11 and I-16 on the hospitality schema, once per tenant transport.

``lane_db`` (``fix_lanes``) gives an opened ``Database`` whose tenant lane is asyncpg or the
Data API (through the local gateway); the same queries and the same assertions run on both.
Writes against the shared fixture rows are always rolled back (``_RollbackError``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
import pytest
from fix_schema import FIXTURE_COUNTS, TENANT_TABLES, TenantSet

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.query import Command, Param, Query


class _N(msgspec.Struct, frozen=True):
    n: int


class _RollbackError(Exception):
    """Raised at the end of a block to throw its writes away."""


_HINTS = {"uuid": "UUID"}


def _q(name: str, command: Command, sql: str, *types: str, row: Any = None) -> Query[Any]:
    """A hand-built Query for both transports (``$n`` and ``:pn`` placeholders)."""
    params = tuple(
        Param(name=f"p{i}", number=i, pg_type=t, type_hint=_HINTS.get(t))
        for i, t in enumerate(types, 1)
    )
    data_api_sql = re.sub(r"\$(\d+)", lambda m: f":p{m.group(1)}", sql)
    return Query(
        name=name,
        command=command,
        sql=sql,
        data_api_sql=data_api_sql,
        params=params,
        row=row,
        from_record=(lambda r: row(*r)) if row is not None else None,
    )


def _count(table: str, where: str = "", *types: str) -> Query[_N]:
    return _q(
        f"Count_{table}", Command.ONE, f"SELECT count(*) FROM {table} {where}", *types, row=_N
    )


def _ctx(tenant_id: str, user_id: str | None = None) -> TenantContext:
    return TenantContext(tenant_id=tenant_id, user_id=user_id)


async def _fingerprint(dsn: str, tenant_id: str) -> dict[str, str]:
    """md5 of every row of a tenant, per table, read as admin (BYPASSRLS)."""
    conn = await asyncpg.connect(dsn)
    try:
        return {
            t: await conn.fetchval(
                f"SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY x.id)), '') "
                f"FROM {t} x WHERE tenant_id = $1",
                tenant_id,
            )
            for t in TENANT_TABLES
        }
    finally:
        await conn.close()


# -- I-8 read isolation ----------------------------------------------------------------------------


async def test_each_tenant_reads_exactly_its_own_rows(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    for rows, populated in ((tenants_abc.a, True), (tenants_abc.b, True), (tenants_abc.c, False)):
        async with lane_db.tenant(_ctx(rows.tenant_id), readonly=True) as tx:
            for table in TENANT_TABLES:
                total = await tx.one(_count(table), ())
                foreign = await tx.one(
                    _count(table, "WHERE tenant_id <> $1", "uuid"), (rows.tenant_id,)
                )
                assert foreign == _N(0), (rows.slug, table)
                assert total == _N(FIXTURE_COUNTS[table] if populated else 0), (rows.slug, table)
            assert await tx.one(_count("tenants"), ()) == _N(1)  # only its own registry row


# -- I-10 write isolation --------------------------------------------------------------------------


async def _attack(
    db: Database, ctx: TenantContext, query: Query[Any], args: Sequence[object]
) -> int | str | None:
    """Rows affected (then rolled back), or the SQLSTATE of the refusal."""
    affected: int | None = None
    try:
        async with db.tenant(ctx) as tx:
            affected = await tx.execrows(query, args)
            raise _RollbackError  # noqa: TRY301 - ends the block to roll the attack back
    except errors.InsufficientPrivilege as err:
        return err.sqlstate
    except _RollbackError:
        pass
    return affected


async def test_tenant_cannot_write_other_tenants_rows(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a, b = tenants_abc.a, tenants_abc.b
    before = await _fingerprint(tenants_abc.pg.admin_dsn, b.tenant_id)
    b_guest = b.guests[0]
    rows = Command.EXECROWS
    attacks: list[tuple[Query[Any], Sequence[object]]] = [
        (
            _q(
                "PlantGuest",
                rows,
                "INSERT INTO guests (tenant_id, full_name) VALUES ($1, 'x')",
                "uuid",
            ),
            (b.tenant_id,),
        ),
        (_q("MoveAllGuests", rows, "UPDATE guests SET tenant_id = $1", "uuid"), (b.tenant_id,)),
        (
            _q("RenameGuest", rows, "UPDATE guests SET full_name = 'x' WHERE id = $1", "uuid"),
            (b_guest,),
        ),
        (_q("DeleteGuest", rows, "DELETE FROM guests WHERE id = $1", "uuid"), (b_guest,)),
        (_q("DeleteAllBookings", rows, "DELETE FROM bookings"), ()),
        (
            _q(
                "UpsertGuest",
                rows,
                "INSERT INTO guests (tenant_id, id, full_name) VALUES ($1, $2, 'x')"
                " ON CONFLICT (tenant_id, id) DO UPDATE SET full_name = 'hijacked'",
                "uuid",
                "uuid",
            ),
            (b.tenant_id, b_guest),
        ),
    ]
    ctx = _ctx(a.tenant_id, a.users[0])
    outcomes = [await _attack(lane_db, ctx, q, args) for q, args in attacks]
    # refused, refused, nothing matched, nothing matched, A's own two bookings, refused
    assert outcomes == ["42501", "42501", 0, 0, 2, "42501"]
    assert await _fingerprint(tenants_abc.pg.admin_dsn, b.tenant_id) == before


# -- I-11 existence oracles closed -----------------------------------------------------------------


async def test_keys_are_tenant_scoped_and_foreign_parents_unreachable(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a, b = tenants_abc.a, tenants_abc.b
    add_user = _q(
        "AddUser",
        Command.EXECROWS,
        "INSERT INTO users (tenant_id, email, display_name) VALUES ($1, $2, 'x')",
        "uuid",
        "text",
    )
    add_room = _q(
        "AddRoom",
        Command.EXECROWS,
        "INSERT INTO rooms (tenant_id, property_id, number, nightly_rate)"
        " VALUES ($1, $2, '999', 10)",
        "uuid",
        "uuid",
    )
    # A key only B has inserts fine for A (keys are tenant-scoped: no existence oracle).
    admin = await asyncpg.connect(tenants_abc.pg.admin_dsn)
    try:
        await admin.execute(
            "INSERT INTO users (tenant_id, email, display_name) VALUES ($1, $2, 'B')",
            b.tenant_id,
            "only-b@example.com",
        )
        ctx = _ctx(a.tenant_id)
        assert await _attack(lane_db, ctx, add_user, (a.tenant_id, "only-b@example.com")) == 1
    finally:
        await admin.execute("DELETE FROM users WHERE email = 'only-b@example.com'")
        await admin.close()
    # A child pointing at B's parent fails as if the parent did not exist.
    with pytest.raises(errors.ForeignKeyViolation) as info:
        async with lane_db.tenant(_ctx(a.tenant_id)) as tx:
            await tx.execrows(add_room, (a.tenant_id, b.properties[0]))
    assert info.value.sqlstate == "23503"


# -- I-16 plan-cache safety ------------------------------------------------------------------------


class _Tid(msgspec.Struct, frozen=True):
    tenant_id: str


_GUESTS = _q(
    "GuestTenants",
    Command.MANY,
    "SELECT tenant_id::text FROM guests WHERE full_name <> $1 ORDER BY id",
    "text",
    row=_Tid,
)
_PLAN_MODE = _q(
    "SetPlanCacheMode", Command.EXEC, "SELECT set_config('plan_cache_mode', $1, true)", "text"
)
_ALL_GUESTS = _q("AllGuestTenants", Command.MANY, "SELECT tenant_id::text FROM guests", row=_Tid)


@pytest.mark.parametrize("mode", ["auto", "force_generic_plan"])
async def test_cached_plans_never_serve_another_tenant(
    lane_db: Database, tenants_abc: TenantSet, mode: str
) -> None:
    for run in range(12):
        rows = (tenants_abc.a, tenants_abc.b)[run % 2]
        async with lane_db.tenant(_ctx(rows.tenant_id), readonly=True) as tx:
            await tx.exec(_PLAN_MODE, (mode,))
            with_param = await tx.many(_GUESTS, ("",))
            without = await tx.many(_ALL_GUESTS, ())
        assert with_param == [_Tid(rows.tenant_id)] * 2
        assert without == [_Tid(rows.tenant_id)] * 2


# -- I-15 one tenant per transaction; batches are atomic -------------------------------------------

_ADD_GUEST = _q(
    "AddGuest",
    Command.EXECROWS,
    "INSERT INTO guests (tenant_id, full_name) VALUES ($1, $2)",
    "uuid",
    "text",
)
_SETTING = _q(
    "CurrentTenant",
    Command.ONE,
    "SELECT current_setting('app.current_tenant_id', true)",
    row=_Tid,
)


async def test_nested_blocks_cannot_change_the_tenant(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a, b = _ctx(tenants_abc.a.tenant_id), _ctx(tenants_abc.b.tenant_id)
    guests = _count("guests")
    with pytest.raises(_RollbackError):  # noqa: PT012 - the outer block is rolled back
        async with lane_db.tenant(a) as tx:
            with pytest.raises(errors.ContextError):
                async with lane_db.tenant(b):
                    pass
            with pytest.raises(LookupError):  # noqa: PT012 - the savepoint block raises
                async with lane_db.tenant(a) as inner:  # same context: a savepoint
                    await inner.execrows(_ADD_GUEST, (a.tenant_id, "inner"))
                    raise LookupError
            await tx.execrows(_ADD_GUEST, (a.tenant_id, "outer"))
            assert await tx.one(guests, ()) == _N(3)  # the savepoint's row is gone
            assert await tx.one(_SETTING, ()) == _Tid(a.tenant_id)
            raise _RollbackError


async def test_tenant_batch_is_ordered_and_atomic(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    a = _ctx(tenants_abc.a.tenant_id)
    guests = _count("guests")

    async def fail(_tx: object) -> None:
        raise ValueError("third operation")

    first, second = await lane_db.tenant_batch(
        a, [lambda tx: tx.one(guests, ()), lambda tx: tx.one(_SETTING, ())]
    )
    assert (first, second) == (_N(2), _Tid(a.tenant_id))
    with pytest.raises(ValueError, match="third"):
        await lane_db.tenant_batch(
            a,
            [
                lambda tx: tx.execrows(_ADD_GUEST, (a.tenant_id, "x")),
                lambda tx: tx.execrows(_ADD_GUEST, (a.tenant_id, "y")),
                fail,
            ],
        )
    async with lane_db.tenant(a, readonly=True) as tx:
        assert await tx.one(guests, ()) == _N(2)
