"""Typing examples: the generated API as users write it, checked by ``mypy --strict``.

Not collected by pytest (no test functions); ``tests/typing/check_negative.py`` runs mypy on
this file (it must pass) and on broken variants (each must fail).
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import assert_type

import asyncpg
from hospitality import bookings, guests, models, users

from tenantdb.codecs import JsonValue
from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.drivers.base import Executor
from tenantdb.query import ExecResult, Query


async def examples(conn: asyncpg.Connection, booking_id: uuid.UUID) -> None:
    db: Executor = AsyncpgExecutor(conn)  # the asyncpg executor satisfies the protocol
    b = await bookings.get_booking(db, id=booking_id)
    assert_type(b, models.Booking | None)
    if b is not None:
        assert_type(b.status, models.BookingStatus)
        assert_type(b.total_amount, decimal.Decimal)
        assert_type(b.check_in, datetime.date)
        assert_type(b.deleted_at, datetime.datetime | None)
        assert_type(b.metadata, JsonValue)
    page = await bookings.list_bookings(
        db, status=models.BookingStatus.CONFIRMED, after_check_in=None, after_id=None,
        page_limit=20,
    )  # fmt: skip
    assert_type(page, list[models.Booking])
    async for row in bookings.iter_list_bookings_with_room(db, page_size=100):
        assert_type(row.room, models.Room)
        assert_type(row.user, models.User | None)
    found = await guests.search_guests(db, query="ada", max_results=5)
    assert_type(found[0].rank, float)
    assert_type(await bookings.soft_delete_booking(db, id=booking_id), int)
    assert_type(
        await users.update_user_role(db, role=models.UserRole.OWNER, id=booking_id), ExecResult
    )
    items = [
        bookings.UpdateBookingStatusesParams(status=models.BookingStatus.CANCELLED, id=booking_id)
    ]
    assert_type(await bookings.update_booking_statuses(db, items), None)
    refs = [bookings.GetBookingByReferenceParams(reference="BK-1")]
    assert_type(await bookings.get_booking_by_reference(db, refs), list[models.Booking | None])
    rooms = [bookings.ListBookingsForRoomParams(room_id=booking_id)]
    assert_type(await bookings.list_bookings_for_room(db, rooms), list[list[models.Booking]])
    assert_type(await bookings.copy_bookings(db, []), int)
    assert_type(bookings.GET_BOOKING, Query[models.Booking])
    assert_type(await bookings.count_bookings(db), int | None)
    # INSERT … VALUES … RETURNING always returns its row: T, not T | None (issue 12)
    new_user = await users.create_user(
        db, email="a@b.c", display_name="A", role=models.UserRole.OWNER
    )
    assert_type(new_user, models.User)
