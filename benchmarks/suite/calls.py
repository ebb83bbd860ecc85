"""The only code of the suite that depends on generated signatures (``generated/hospitality``).

Codegen changes (e.g. a single-column ``:one`` returning the value instead of a Row Struct)
then touch these few lines, never a section's measurement logic.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import msgspec
from hospitality import bookings, models

GET_BOOKING = bookings.GET_BOOKING  # :one, 17 columns (the single-query transaction)
LIST_BOOKINGS = bookings.LIST_BOOKINGS  # :many, keyset page (the Data API :many)
DIGESTS = bookings.LIST_BOOKING_DIGESTS  # :many, 8 mixed columns (decode)
DigestRow = bookings.ListBookingDigestsRow
BookingStatus = models.BookingStatus
COPY_COLUMNS = list(bookings.COPY_BOOKINGS.copy_columns)


async def get_booking(tx: Any, booking_id: uuid.UUID) -> Any:
    return await bookings.get_booking(tx, id=booking_id)


async def list_bookings(tx: Any, limit: int) -> list[Any]:
    return await bookings.list_bookings(
        tx, status=None, after_check_in=None, after_id=None, page_limit=limit
    )


async def list_digests(ex: Any, limit: int) -> list[Any]:
    return await bookings.list_booking_digests(ex, max_rows=limit)


def iter_digests(ex: Any, limit: int, page_size: int = 500) -> AsyncIterator[Any]:
    return bookings.iter_list_booking_digests(ex, max_rows=limit, page_size=page_size)


async def copy_bookings(ex: Any, items: Sequence[Any]) -> int:
    return await bookings.copy_bookings(ex, items)


def copy_item(
    tenant: uuid.UUID,
    parents: tuple[uuid.UUID, uuid.UUID, uuid.UUID],
    reference: str,
    day: int,
) -> Any:
    """One ``CopyBookingsParams`` (the typed input of ``copy_bookings``)."""
    prop, room, guest = parents
    check_in = datetime.date(2027, 1, 1) + datetime.timedelta(days=day % 365)
    return bookings.CopyBookingsParams(
        tenant_id=tenant,
        id=uuid.uuid4(),
        reference=reference,
        property_id=prop,
        room_id=room,
        guest_id=guest,
        status=models.BookingStatus.CONFIRMED,
        check_in=check_in,
        check_out=check_in + datetime.timedelta(days=2),
        guests_count=2,
        total_amount=decimal.Decimal("240.50"),
        currency="EUR",
        metadata={"source": "bench", "n": day},
    )


def copy_tuple(item: Any) -> tuple[Any, ...]:
    """The same row as the tuple raw ``copy_records_to_table`` takes (JSON as text)."""
    return (
        item.tenant_id,
        item.id,
        item.reference,
        item.property_id,
        item.room_id,
        item.guest_id,
        item.status.value,
        item.check_in,
        item.check_out,
        item.guests_count,
        item.total_amount,
        item.currency,
        msgspec.json.encode(item.metadata).decode(),
    )
