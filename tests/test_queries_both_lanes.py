"""Every generated hospitality query the tenant role may run gives identical results on both lanes.

One scenario (modelled on test_queries_hospitality.py) runs inside ``db.tenant(ctx)`` on the
asyncpg lane and on the Data API lane, each for its own fresh tenant, and is rolled back. A
recording executor keeps every result. The two recordings are compared field by field *and
type by type* after one normalisation: server-generated values (uuids, timestamps) are replaced
by the order in which they first appeared, so ``gen_random_uuid()``/``now()`` may differ
between the runs but the same row must carry the same value in the same places.

Queries the tenant role is not granted (``CreateTenant``, ``DeleteTenant``: the registry is
admin work) are the only ones left out, and the test checks that list is exact.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

import msgspec
from fix_lanes import LANES, open_lane_db
from fix_schema import TenantSet
from hospitality import activity, bookings, guests, models, properties, rooms, tenants, users

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.dataapi.rows import FALLBACKS
from tenantdb.drivers.lane import Transaction
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Command, Param, Query

R = TypeVar("R")
MODULES = (activity, bookings, guests, properties, rooms, tenants, users)
ADMIN_ONLY = {"CreateTenant", "DeleteTenant"}


class _RollbackError(Exception):
    """Thrown at the end of the scenario so nothing it wrote survives."""


class Recorder:
    """An Executor that forwards to a transaction and records (query, result) in call order."""

    def __init__(self, tx: Transaction) -> None:
        self.tx = tx
        self.log: list[tuple[str, Any]] = []

    def _keep(self, query: Query[Any], result: Any) -> Any:
        self.log.append((query.name, result))
        return result

    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        return self._keep(query, await self.tx.one(query, args))  # type: ignore[no-any-return]

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        return self._keep(query, await self.tx.many(query, args))  # type: ignore[no-any-return]

    async def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        rows = [r async for r in self.tx.stream(query, args, page_size=page_size)]
        self._keep(query, rows)
        for row in rows:
            yield row

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        self._keep(query, await self.tx.exec(query, args))  # type: ignore[func-returns-value]

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        return self._keep(query, await self.tx.execrows(query, args))  # type: ignore[no-any-return]

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        return self._keep(query, await self.tx.copy(query, rows))  # type: ignore[no-any-return]

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        await self.tx.batch_exec(query, arg_rows)
        self._keep(query, None)

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        return self._keep(query, await self.tx.batch_one(query, arg_rows))  # type: ignore[no-any-return]

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        return self._keep(query, await self.tx.batch_many(query, arg_rows))  # type: ignore[no-any-return]


class Normaliser:
    """Typed, comparable form of a result; generated uuids/timestamps become first-seen indices."""

    def __init__(self) -> None:
        self.seen: dict[object, int] = {}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, msgspec.Struct):
            fields = value.__struct_fields__
            return (type(value).__name__, {f: self(getattr(value, f)) for f in fields})
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return self._leaf(value)

    def _leaf(self, value: Any) -> Any:
        if isinstance(value, uuid.UUID | datetime.datetime):
            tz = getattr(value, "tzinfo", None)
            index = self.seen.setdefault(value, len(self.seen))
            return (type(value).__name__, str(tz), index)
        if isinstance(value, enum.Enum):
            return (type(value).__name__, value.value)
        if isinstance(value, bool | int | float | str | decimal.Decimal | datetime.date):
            return (type(value).__name__, repr(value))
        return (type(value).__name__, value)


def _roll_back() -> None:
    raise _RollbackError


async def _run_scenario(db: Database, tenant_id: uuid.UUID, user_id: uuid.UUID) -> Recorder:
    async with db.admin(reason="both-lanes fixture tenant") as adm:
        await adm.exec(_ADD_TENANT, (tenant_id, "lanes-scenario", "Lanes Inn"))
        await adm.exec(_ADD_USER, (tenant_id, user_id))
    ctx = TenantContext(tenant_id=str(tenant_id), user_id=str(user_id))
    rec: Recorder | None = None
    try:
        async with db.tenant(ctx) as tx:
            rec = Recorder(tx)
            await _scenario(rec, tenant_id, user_id)
            _roll_back()
    except _RollbackError:
        pass
    finally:
        async with db.admin(reason="both-lanes cleanup") as adm:
            await adm.exec(_DEL_USER, (tenant_id,))
            await adm.exec(_DEL_TENANT, (tenant_id,))
    assert rec is not None
    return rec


async def _scenario(ex: Recorder, tenant_id: uuid.UUID, user_id: uuid.UUID) -> None:
    t = await tenants.get_tenant(ex, id=tenant_id)
    assert t is not None
    await tenants.get_tenant_by_slug(ex, slug=t.slug.upper())
    await tenants.list_tenants(ex)
    [x async for x in tenants.iter_list_tenants(ex, page_size=1)]
    await tenants.rename_tenant(ex, name="Lanes Hotel", id=t.id)
    await tenants.merge_tenant_settings(ex, patch={"b": [True, None], "n": 1.5}, id=t.id)
    u = await users.create_user(
        ex, email="Desk@Example.com", display_name="Desk", role=models.UserRole.FRONT_DESK
    )
    assert u is not None
    await users.get_user(ex, id=u.id)
    await users.get_user_by_email(ex, email="desk@example.com")
    await users.list_users(ex)
    [x async for x in users.iter_list_users(ex)]
    await users.update_user_role(ex, role=models.UserRole.OWNER, id=u.id)
    p, r, spare_room = await _inventory(ex)
    g, spare_guest = await _guests(ex)
    await _bookings(ex, tenant_id, p, r, g)
    await _activity(ex)
    await rooms.delete_room(ex, id=spare_room.id)
    await guests.delete_guest(ex, id=spare_guest.id)
    spare = await properties.create_property(
        ex, code="SPARE", name="Spare", city="Faro", country=None, timezone="UTC"
    )
    assert spare is not None
    await properties.delete_property(ex, id=spare.id)
    await users.delete_user(ex, id=u.id)


async def _inventory(ex: Recorder) -> tuple[models.Property, models.Room, models.Room]:
    p = await properties.create_property(
        ex, code="HQ", name="Grand", city="Lisbon", country=None, timezone="Europe/Lisbon"
    )
    assert p is not None
    await properties.get_property(ex, id=p.id)
    await properties.list_properties(ex)
    [x async for x in properties.iter_list_properties(ex)]
    await properties.update_property(ex, name="Grander", city="Porto", country="PT", id=p.id)
    await properties.set_property_metadata_key(ex, key="amenities", value=["pool", 2], id=p.id)
    await properties.get_property_metadata_key(ex, key="amenities", id=p.id)
    await properties.get_property_metadata_key(ex, key="nope", id=p.id)
    rooms_made = []
    for number, rate in (("101", "120.50"), ("999", "0.01")):
        room = await rooms.create_room(
            ex,
            property_id=p.id,
            number=number,
            room_type="suite",
            capacity=3,
            nightly_rate=decimal.Decimal(rate),
            status=models.RoomStatus.UNDER_REPAIR,
        )
        assert room is not None
        rooms_made.append(room)
    r, spare = rooms_made
    await rooms.get_room(ex, id=r.id)
    await rooms.list_rooms_by_property(ex, property_id=p.id)
    [x async for x in rooms.iter_list_rooms_by_property(ex, property_id=p.id)]
    await rooms.set_room_status(ex, status=models.RoomStatus.AVAILABLE, id=r.id)
    await rooms.list_rooms_with_property(ex)
    [x async for x in rooms.iter_list_rooms_with_property(ex)]
    await rooms.count_rooms_by_status(ex)
    [x async for x in rooms.iter_count_rooms_by_status(ex)]
    return p, r, spare


async def _guests(ex: Recorder) -> tuple[guests.CreateGuestRow, guests.CreateGuestRow]:
    made = []
    for name, email in (("Ada Lovelace", "ada@example.com"), ("Zed Spare", None)):
        g = await guests.create_guest(
            ex, full_name=name, email=email, phone=None, notes="sea view", metadata={"vip": True}
        )
        assert g is not None
        made.append(g)
    g, spare = made
    await guests.get_guest(ex, id=g.id)
    await guests.list_guests(ex, after_name="", after_id=uuid.UUID(int=0), page_limit=10)
    [
        x
        async for x in guests.iter_list_guests(
            ex, after_name="", after_id=uuid.UUID(int=0), page_limit=10, page_size=1
        )
    ]
    await guests.search_guests(ex, query="sea view", max_results=5)
    [x async for x in guests.iter_search_guests(ex, query="ada", max_results=5)]
    await guests.update_guest_contact(ex, email=None, phone="+351 000", notes="", id=g.id)
    return g, spare


async def _bookings(
    ex: Recorder,
    tenant_id: uuid.UUID,
    p: models.Property,
    r: models.Room,
    g: guests.CreateGuestRow,
) -> None:
    b = await bookings.create_booking(
        ex,
        reference="BK-1",
        property_id=p.id,
        room_id=r.id,
        guest_id=g.id,
        status=models.BookingStatus.CONFIRMED,
        check_in=datetime.date(2026, 7, 1),
        check_out=datetime.date(2026, 7, 3),
        guests_count=2,
        total_amount=decimal.Decimal("240.00"),
        currency="EUR",
        metadata={"source": "web", "nested": {"x": [1, 2.5, "y", None]}},
    )
    assert b is not None
    await bookings.copy_bookings(
        ex,
        [
            bookings.CopyBookingsParams(
                tenant_id=tenant_id,
                id=uuid.UUID(int=i),
                reference=f"BK-C{i}",
                property_id=p.id,
                room_id=r.id,
                guest_id=g.id,
                status=models.BookingStatus.PENDING,
                check_in=datetime.date(2026, 8, i),
                check_out=datetime.date(2026, 8, i + 1),
                guests_count=1,
                total_amount=decimal.Decimal("99.50"),
                currency="EUR",
                metadata={"copied": i},
            )
            for i in range(1, 4)
        ],
    )
    await bookings.get_booking(ex, id=b.id)
    everything = await bookings.list_bookings(
        ex, status=None, after_check_in=None, after_id=None, page_limit=100
    )
    first = await bookings.list_bookings(
        ex, status=None, after_check_in=None, after_id=None, page_limit=2
    )
    await bookings.list_bookings(
        ex, status=None, after_check_in=first[-1].check_in, after_id=first[-1].id, page_limit=2
    )
    pending = bookings.iter_list_bookings(
        ex,
        status=models.BookingStatus.PENDING,
        after_check_in=None,
        after_id=None,
        page_limit=10,
        page_size=2,
    )
    [x async for x in pending]
    ids = [everything[1].id, everything[3].id]
    await bookings.get_bookings_by_ids(ex, ids=ids)
    [x async for x in bookings.iter_get_bookings_by_ids(ex, ids=[])]
    await bookings.list_bookings_with_room(ex)
    [x async for x in bookings.iter_list_bookings_with_room(ex, page_size=3)]
    await bookings.list_booking_digests(ex, max_rows=10)
    [x async for x in bookings.iter_list_booking_digests(ex, max_rows=2)]
    await bookings.count_bookings(ex)
    await bookings.sum_bookings_by_status(ex)
    [x async for x in bookings.iter_sum_bookings_by_status(ex)]
    await bookings.update_booking_status(ex, status=models.BookingStatus.CHECKED_IN, id=b.id)
    await bookings.update_booking_statuses(
        ex,
        [
            bookings.UpdateBookingStatusesParams(status=models.BookingStatus.CANCELLED, id=i)
            for i in ids
        ],
    )
    await bookings.get_booking_by_reference(
        ex,
        [
            bookings.GetBookingByReferenceParams(reference="BK-C1"),
            bookings.GetBookingByReferenceParams(reference="nope"),
        ],
    )
    await bookings.list_bookings_for_room(
        ex,
        [
            bookings.ListBookingsForRoomParams(room_id=r.id),
            bookings.ListBookingsForRoomParams(room_id=uuid.UUID(int=99)),
        ],
    )
    await bookings.merge_booking_metadata(ex, patch={"late": True}, id=b.id)
    await bookings.get_booking_metadata_value(ex, key="source", id=b.id)
    await bookings.soft_delete_booking(ex, id=b.id)
    await bookings.soft_delete_booking(ex, id=b.id)
    await bookings.get_booking(ex, id=b.id)
    await bookings.list_deleted_bookings(ex)
    [x async for x in bookings.iter_list_deleted_bookings(ex)]
    await bookings.restore_booking(ex, id=b.id)
    await bookings.soft_delete_booking(ex, id=b.id)
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    await bookings.purge_deleted_bookings(ex, before=later)


async def _activity(ex: Recorder) -> None:
    subject = uuid.UUID(int=7)
    await activity.log_activity(
        ex, action="booking.viewed", subject_type="booking", subject_id=subject, details={}
    )
    await activity.list_activity_for_subject(
        ex, subject_type="booking", subject_id=subject, max_rows=10
    )
    stream = activity.iter_list_activity_for_subject(
        ex, subject_type="booking", subject_id=subject, max_rows=10
    )
    [x async for x in stream]
    await activity.list_recent_activity(ex, max_rows=10)
    [x async for x in activity.iter_list_recent_activity(ex, max_rows=1)]
    # Logged last: rows with the same created_at are ordered by their random id.
    await activity.log_activity(
        ex, action="login", subject_type=None, subject_id=None, details={"ip": "127.0.0.1"}
    )


def _sql_exec(name: str, sql: str, *types: str) -> Query[Any]:
    """An admin-lane statement (asyncpg only, so ``data_api_sql`` is never used)."""
    params = tuple(Param(name=f"p{i}", number=i, pg_type=t) for i, t in enumerate(types, 1))
    return Query(name=name, command=Command.EXEC, sql=sql, data_api_sql=sql, params=params)


_ADD_TENANT = _sql_exec(
    "AddTenant", "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)", "uuid", "text", "text"
)
_ADD_USER = _sql_exec(
    "AddUser",
    "INSERT INTO users (tenant_id, id, email, display_name, role)"
    " VALUES ($1, $2, 'owner@example.com', 'Owner', 'owner')",
    "uuid",
    "uuid",
)
_DEL_USER = _sql_exec("DelUser", "DELETE FROM users WHERE tenant_id = $1", "uuid")
_DEL_TENANT = _sql_exec("DelTenant", "DELETE FROM tenants WHERE id = $1", "uuid")


async def _clear_leftovers(db: Database) -> None:
    """A run killed mid-way could leave its tenant behind (the slug is fixed)."""
    async with db.admin(reason="both-lanes cleanup of an interrupted run") as adm:
        await adm.exec(_DEL_LEFTOVER_USERS, ())
        await adm.exec(_DEL_LEFTOVER_TENANT, ())


_DEL_LEFTOVER_USERS = _sql_exec(
    "DelLeftoverUsers",
    "DELETE FROM users WHERE tenant_id IN (SELECT id FROM tenants WHERE slug = 'lanes-scenario')",
)
_DEL_LEFTOVER_TENANT = _sql_exec(
    "DelLeftoverTenant", "DELETE FROM tenants WHERE slug = 'lanes-scenario'"
)


def _all_queries() -> set[str]:
    return {v.name for m in MODULES for v in vars(m).values() if isinstance(v, Query)}


async def test_every_tenant_query_gives_identical_results_and_types_on_both_lanes(
    tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    recordings: dict[str, list[tuple[str, Any]]] = {}
    for kind in LANES:
        async with open_lane_db(kind, tenants_abc, gateway) as db:
            rec = await _run_scenario(db, uuid.uuid4(), uuid.uuid4())
        norm = Normaliser()
        recordings[kind] = [(name, norm(result)) for name, result in rec.log]
    pg, api = recordings["asyncpg"], recordings["data_api"]
    assert [n for n, _ in pg] == [n for n, _ in api]
    for (name, expected), (_, got) in zip(pg, api, strict=True):
        assert got == expected, name
    assert {n for n, _ in api} == _all_queries() - ADMIN_ONLY
    # Every generated query was read by the typed msgspec plan, not the generic fallback.
    assert not FALLBACKS.keys() & _all_queries()
