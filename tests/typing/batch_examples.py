"""``db.tenant_batch`` with a tuple of operations types each result (like ``asyncio.gather``).

Checked by ``tests/test_typing_batch.py`` with ``mypy --strict``; not collected by pytest.
"""

from __future__ import annotations

from typing import assert_type

from hospitality import bookings

import tenantdb


async def batch(db: tenantdb.Database, ctx: tenantdb.TenantContext) -> None:
    count, sums = await db.tenant_batch(
        ctx, (bookings.count_bookings, bookings.sum_bookings_by_status)
    )
    assert_type(count, int | None)
    assert_type(sums, list[bookings.SumBookingsByStatusRow])
    (only,) = await db.tenant_batch(ctx, (bookings.count_bookings,))
    assert_type(only, int | None)
    same = await db.tenant_batch(ctx, [bookings.count_bookings, bookings.count_bookings])
    assert_type(same, list[int | None])
