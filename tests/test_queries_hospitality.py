"""Every generated query in queries/ runs on PostgreSQL and returns its declared types.

Admin lane: an ``AsyncpgExecutor`` over one admin connection of a migrated scratch
database; the tenant and user context is set once on the session (``set_config(..., false)``)
so INSERTs that take tenant_id/author from ``app.current_*()`` work. A recording wrapper
proves that every Query constant of every generated module ran.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, TypeVar

import asyncpg
import pytest
from fix_codegen import assert_declared_types
from hospitality import activity, bookings, guests, models, properties, rooms, tenants, users

from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.local import LocalDatabase
from tenantdb.query import ExecResult, Query

R = TypeVar("R")
MODULES = (activity, bookings, guests, properties, rooms, tenants, users)


class Recording(AsyncpgExecutor):
    """Remembers which queries ran (by name) and checks every row it returns."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn)
        self.ran: set[str] = set()

    async def one(self, query: Query[R], args: Sequence[object]) -> R | None:
        self.ran.add(query.name)
        row = await super().one(query, args)
        if row is not None:
            assert_declared_types(row)
        return row

    async def many(self, query: Query[R], args: Sequence[object]) -> list[R]:
        self.ran.add(query.name)
        rows = await super().many(query, args)
        for row in rows:
            assert_declared_types(row)
        return rows

    async def stream(
        self, query: Query[R], args: Sequence[object], *, page_size: int = 500
    ) -> AsyncIterator[R]:
        self.ran.add(query.name)
        async for row in super().stream(query, args, page_size=page_size):
            assert_declared_types(row)
            yield row

    async def exec(self, query: Query[Any], args: Sequence[object]) -> None:
        self.ran.add(query.name)
        await super().exec(query, args)

    async def execrows(self, query: Query[Any], args: Sequence[object]) -> int:
        self.ran.add(query.name)
        return await super().execrows(query, args)

    async def copy(self, query: Query[Any], rows: Sequence[Sequence[object]]) -> int:
        self.ran.add(query.name)
        return await super().copy(query, rows)

    async def batch_exec(self, query: Query[Any], arg_rows: Sequence[Sequence[object]]) -> None:
        self.ran.add(query.name)
        await super().batch_exec(query, arg_rows)

    async def batch_one(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[R | None]:
        self.ran.add(query.name)
        rows = await super().batch_one(query, arg_rows)
        for row in rows:
            if row is not None:
                assert_declared_types(row)
        return rows

    async def batch_many(
        self, query: Query[R], arg_rows: Sequence[Sequence[object]]
    ) -> list[list[R]]:
        self.ran.add(query.name)
        out = await super().batch_many(query, arg_rows)
        for rows in out:
            for row in rows:
                assert_declared_types(row)
        return out


def _all_queries() -> set[str]:
    return {v.name for m in MODULES for v in vars(m).values() if isinstance(v, Query)}


@pytest.fixture
async def ex(codegen_db: LocalDatabase) -> AsyncIterator[Recording]:
    conn = await asyncpg.connect(codegen_db.admin_dsn)
    tx = conn.transaction()
    await tx.start()
    try:
        yield Recording(conn)
    finally:
        await tx.rollback()
        await conn.close()


async def _as(ex: Recording, tenant_id: uuid.UUID, user_id: uuid.UUID | None = None) -> None:
    conn = ex._target
    assert isinstance(conn, asyncpg.Connection)
    await conn.execute(
        "SELECT set_config('app.current_tenant_id', $1, true),"
        " set_config('app.current_user_id', $2, true)",
        str(tenant_id),
        "" if user_id is None else str(user_id),
    )


async def test_every_generated_query_runs_and_returns_declared_types(ex: Recording) -> None:
    t = await _tenant_queries(ex)
    await _as(ex, t.id)
    u = await _user_queries(ex)
    await _as(ex, t.id, u.id)
    prop, room = await _property_and_room_queries(ex)
    guest = await _guest_queries(ex)
    await _booking_queries(ex, t, prop, room, guest)
    await _activity_queries(ex, u)
    await _deletes(ex, t, u, prop, room, guest)
    assert ex.ran == _all_queries()


async def _tenant_queries(ex: Recording) -> models.Tenant:
    t = await tenants.create_tenant(ex, slug="codegen", name="Codegen Inn", settings={"a": 1})
    assert t is not None and t.settings == {"a": 1}
    assert await tenants.get_tenant(ex, id=t.id) == t
    assert await tenants.get_tenant_by_slug(ex, slug="CODEGEN") == t  # citext
    assert t in await tenants.list_tenants(ex)
    assert [x async for x in tenants.iter_list_tenants(ex, page_size=1)] == [t]
    assert await tenants.rename_tenant(ex, name="Codegen Hotel", id=t.id) == 1
    merged = await tenants.merge_tenant_settings(ex, patch={"b": [True, None]}, id=t.id)
    assert merged is not None and merged.settings == {"a": 1, "b": [True, None]}
    return t


async def _user_queries(ex: Recording) -> models.User:
    u = await users.create_user(
        ex, email="Desk@Example.com", display_name="Desk", role=models.UserRole.FRONT_DESK
    )
    assert u is not None and u.role is models.UserRole.FRONT_DESK
    assert await users.get_user(ex, id=u.id) == u
    assert await users.get_user_by_email(ex, email="desk@example.com") == u
    assert await users.list_users(ex) == [u]
    assert [x async for x in users.iter_list_users(ex)] == [u]
    res = await users.update_user_role(ex, role=models.UserRole.OWNER, id=u.id)
    assert res == ExecResult(rows_affected=1)
    changed = await users.get_user(ex, id=u.id)
    assert changed is not None and changed.role is models.UserRole.OWNER
    return changed


async def _property_and_room_queries(ex: Recording) -> tuple[models.Property, models.Room]:
    p = await properties.create_property(
        ex, code="HQ", name="Grand", city="Lisbon", country=None, timezone="Europe/Lisbon"
    )
    assert p is not None and p.country is None and p.metadata == {}
    assert await properties.get_property(ex, id=p.id) == p
    assert await properties.list_properties(ex) == [p]
    assert [x async for x in properties.iter_list_properties(ex)] == [p]
    p2 = await properties.update_property(ex, name="Grander", city="Porto", country="PT", id=p.id)
    assert p2 is not None and p2.country == "PT" and p2.city == "Porto"
    meta = await properties.set_property_metadata_key(
        ex, key="amenities", value=["pool", "spa"], id=p.id
    )
    assert meta is not None and meta.metadata == {"amenities": ["pool", "spa"]}
    got = await properties.get_property_metadata_key(ex, key="amenities", id=p.id)
    assert got is not None and got.value == ["pool", "spa"]
    missing = await properties.get_property_metadata_key(ex, key="nope", id=p.id)
    assert missing is not None and missing.value is None
    r = await rooms.create_room(
        ex,
        property_id=p.id,
        number="101",
        room_type="suite",
        capacity=3,
        nightly_rate=decimal.Decimal("120.50"),
        status=models.RoomStatus.UNDER_REPAIR,
    )
    assert r is not None and r.status is models.RoomStatus.UNDER_REPAIR
    assert await rooms.get_room(ex, id=r.id) == r
    assert await rooms.list_rooms_by_property(ex, property_id=p.id) == [r]
    assert [x async for x in rooms.iter_list_rooms_by_property(ex, property_id=p.id)] == [r]
    await rooms.set_room_status(ex, status=models.RoomStatus.AVAILABLE, id=r.id)
    r = await rooms.get_room(ex, id=r.id)
    assert r is not None and r.status is models.RoomStatus.AVAILABLE
    (joined,) = await rooms.list_rooms_with_property(ex)
    assert joined.room == r and joined.property.id == p.id  # fields: the tables, singular
    assert [x async for x in rooms.iter_list_rooms_with_property(ex)] == [joined]
    counts = await rooms.count_rooms_by_status(ex)
    assert [(c.status, c.rooms) for c in counts] == [(models.RoomStatus.AVAILABLE, 1)]
    assert [x async for x in rooms.iter_count_rooms_by_status(ex)] == counts
    p3 = await properties.get_property(ex, id=p.id)
    assert p3 is not None
    return p3, r


async def _guest_queries(ex: Recording) -> guests.GetGuestRow:
    g = await guests.create_guest(
        ex,
        full_name="Ada Lovelace",
        email="ada@example.com",
        phone=None,
        notes="prefers sea view",
        metadata={"vip": True},
    )
    assert g is not None and g.phone is None and g.metadata == {"vip": True}
    got = await guests.get_guest(ex, id=g.id)
    assert got is not None and got.full_name == "Ada Lovelace"
    page = await guests.list_guests(ex, after_name="", after_id=uuid.UUID(int=0), page_limit=10)
    assert [x.id for x in page] == [g.id]
    stream = guests.iter_list_guests(ex, after_name="", after_id=uuid.UUID(int=0), page_limit=1)
    assert [x.id async for x in stream] == [g.id]
    found = await guests.search_guests(ex, query="sea view", max_results=5)
    assert [x.id for x in found] == [g.id] and found[0].rank > 0
    assert [x async for x in guests.iter_search_guests(ex, query="ada", max_results=5)]
    updated = await guests.update_guest_contact(ex, email=None, phone="+351 000", notes="", id=g.id)
    assert updated is not None and updated.email is None and updated.phone == "+351 000"
    return got


async def _booking_queries(
    ex: Recording,
    t: models.Tenant,
    p: models.Property,
    r: models.Room,
    g: guests.GetGuestRow,
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
        metadata={"source": "web", "nested": {"x": [1, 2.5, "y"]}},
    )
    assert b is not None and b.metadata["nested"] == {"x": [1, 2.5, "y"]}  # type: ignore[index, call-overload]
    assert b.created_by is not None and b.created_at.tzinfo is not None
    copied = await bookings.copy_bookings(
        ex,
        [
            bookings.CopyBookingsParams(
                tenant_id=t.id,
                id=uuid.uuid4(),
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
    assert copied == 3
    assert await bookings.get_booking(ex, id=b.id) == b
    everything = await bookings.list_bookings(
        ex, status=None, after_check_in=None, after_id=None, page_limit=100
    )
    assert [x.reference for x in everything] == ["BK-1", "BK-C1", "BK-C2", "BK-C3"]
    first = await bookings.list_bookings(
        ex, status=None, after_check_in=None, after_id=None, page_limit=2
    )
    last = first[-1]
    nxt = await bookings.list_bookings(
        ex, status=None, after_check_in=last.check_in, after_id=last.id, page_limit=2
    )
    assert [x.reference for x in first + nxt] == ["BK-1", "BK-C1", "BK-C2", "BK-C3"]
    pending = bookings.iter_list_bookings(
        ex,
        status=models.BookingStatus.PENDING,
        after_check_in=None,
        after_id=None,
        page_limit=10,
        page_size=2,
    )
    assert [x.reference async for x in pending] == ["BK-C1", "BK-C2", "BK-C3"]
    ids = [everything[1].id, everything[3].id]
    assert [x.id for x in await bookings.get_bookings_by_ids(ex, ids=ids)] == ids
    assert [x.id async for x in bookings.iter_get_bookings_by_ids(ex, ids=[])] == []
    (row, *_) = await bookings.list_bookings_with_room(ex)
    assert row.booking == b and row.room == r and row.guest_name == "Ada Lovelace"
    assert row.user is not None and row.user.id == b.created_by
    assert len([x async for x in bookings.iter_list_bookings_with_room(ex)]) == 4
    digests = await bookings.list_booking_digests(ex, max_rows=10)
    assert {d.reference for d in digests} == {x.reference for x in everything}
    assert all(d.phone == "+351 000" for d in digests)  # set by update_guest_contact
    assert {d.id: d.metadata for d in digests}[b.id] == b.metadata
    assert [x async for x in bookings.iter_list_booking_digests(ex, max_rows=2)] == digests[:2]
    assert await bookings.count_bookings(ex) == 4
    sums = await bookings.sum_bookings_by_status(ex)
    assert [(s.status, s.bookings, s.total) for s in sums] == [
        (models.BookingStatus.PENDING, 3, decimal.Decimal("298.50")),
        (models.BookingStatus.CONFIRMED, 1, decimal.Decimal("240.00")),
    ]
    assert [x async for x in bookings.iter_sum_bookings_by_status(ex)] == sums
    st = await bookings.update_booking_status(ex, status=models.BookingStatus.CHECKED_IN, id=b.id)
    assert st is not None and st.status is models.BookingStatus.CHECKED_IN
    await bookings.update_booking_statuses(
        ex,
        [
            bookings.UpdateBookingStatusesParams(status=models.BookingStatus.CANCELLED, id=i)
            for i in ids
        ],
    )
    by_ref = await bookings.get_booking_by_reference(
        ex,
        [
            bookings.GetBookingByReferenceParams(reference="BK-C1"),
            bookings.GetBookingByReferenceParams(reference="nope"),
        ],
    )
    assert by_ref[0] is not None and by_ref[0].status is models.BookingStatus.CANCELLED
    assert by_ref[1] is None
    per_room = await bookings.list_bookings_for_room(
        ex,
        [
            bookings.ListBookingsForRoomParams(room_id=r.id),
            bookings.ListBookingsForRoomParams(room_id=uuid.uuid4()),
        ],
    )
    assert [len(x) for x in per_room] == [4, 0]
    merged = await bookings.merge_booking_metadata(ex, patch={"late": True}, id=b.id)
    assert merged is not None and merged.metadata == {**b.metadata, "late": True}  # type: ignore[dict-item]
    assert await bookings.get_booking_metadata_value(ex, key="source", id=b.id) == "web"
    assert await bookings.soft_delete_booking(ex, id=b.id) == 1
    assert await bookings.soft_delete_booking(ex, id=b.id) == 0
    assert await bookings.get_booking(ex, id=b.id) is None
    deleted = await bookings.list_deleted_bookings(ex)
    assert [x.id for x in deleted] == [b.id] and deleted[0].deleted_at is not None
    assert [x.id async for x in bookings.iter_list_deleted_bookings(ex)] == [b.id]
    assert await bookings.restore_booking(ex, id=b.id) == 1
    assert await bookings.soft_delete_booking(ex, id=b.id) == 1
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    purged = await bookings.purge_deleted_bookings(ex, before=later)
    assert purged.rows_affected == 1


async def _activity_queries(ex: Recording, u: models.User) -> None:
    subject = uuid.uuid4()
    await activity.log_activity(
        ex, action="booking.viewed", subject_type="booking", subject_id=subject, details={}
    )
    await activity.log_activity(
        ex, action="login", subject_type=None, subject_id=None, details={"ip": "127.0.0.1"}
    )
    (entry,) = await activity.list_activity_for_subject(
        ex, subject_type="booking", subject_id=subject, max_rows=10
    )
    assert entry.author_id == u.id and entry.details == {}
    stream = activity.iter_list_activity_for_subject(
        ex, subject_type="booking", subject_id=subject, max_rows=10
    )
    assert [x async for x in stream] == [entry]
    recent = await activity.list_recent_activity(ex, max_rows=10)
    assert len(recent) == 2 and all(x.user == u for x in recent)
    assert len([x async for x in activity.iter_list_recent_activity(ex, max_rows=1)]) == 1


async def _deletes(  # noqa: PLR0917 - one positional per row created above
    ex: Recording,
    t: models.Tenant,
    u: models.User,
    p: models.Property,
    r: models.Room,
    g: guests.GetGuestRow,
) -> None:
    conn = ex._target
    assert isinstance(conn, asyncpg.Connection)
    await conn.execute("DELETE FROM bookings; DELETE FROM activity_log")
    assert await rooms.delete_room(ex, id=r.id) == 1
    assert await guests.delete_guest(ex, id=g.id) == 1
    assert await properties.delete_property(ex, id=p.id) == 1
    assert await users.delete_user(ex, id=u.id) == 1
    assert await tenants.delete_tenant(ex, id=t.id) == 1


def test_every_example_query_can_run_on_the_data_api() -> None:
    queries = [v for m in MODULES for v in vars(m).values() if isinstance(v, Query)]
    assert {q.name: q.data_api_unsupported for q in queries if q.data_api_unsupported} == {}
    assert all(":" in q.data_api_sql or not q.params for q in queries)
