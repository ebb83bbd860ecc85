"""Streaming ``:many`` on both lanes reads one snapshot: pages never repeat or skip rows.

The asyncpg lane streams through a server-side cursor; the Data API lane DECLAREs a cursor in
its transaction and FETCHes one page per call. A row committed by someone else between two
pages (here: a user whose email sorts first) must not shift the pages: with LIMIT/OFFSET
pages it would make the next page repeat a row.
"""

from __future__ import annotations

import asyncpg
from fix_schema import TenantSet
from hospitality import users

from tenantdb.context import TenantContext
from tenantdb.database import Database


async def test_stream_pages_come_from_one_snapshot(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    async with lane_db.tenant(ctx, readonly=True) as tx:
        expected = await users.list_users(tx)
    assert len(expected) >= 2
    admin = await asyncpg.connect(tenants_abc.pg.admin_dsn)
    try:
        async with lane_db.tenant(ctx, readonly=True) as tx:
            stream = users.iter_list_users(tx, page_size=1)
            seen = [await anext(stream)]
            await admin.execute(
                "INSERT INTO users (tenant_id, email, display_name) VALUES ($1, $2, 'First')",
                tenants_abc.a.tenant_id,
                "aaa-streaming-snapshot@example.com",
            )
            seen += [u async for u in stream]
    finally:
        await admin.execute(
            "DELETE FROM users WHERE tenant_id = $1 AND email = $2",
            tenants_abc.a.tenant_id,
            "aaa-streaming-snapshot@example.com",
        )
        await admin.close()
    assert seen == expected


async def test_two_streams_in_one_transaction_use_separate_cursors(
    lane_db: Database, tenants_abc: TenantSet
) -> None:
    ctx = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    async with lane_db.tenant(ctx, readonly=True) as tx:
        expected = await users.list_users(tx)
        first = users.iter_list_users(tx, page_size=1)
        second = users.iter_list_users(tx, page_size=1)
        a = [await anext(first)]
        b = [u async for u in second]
        a += [u async for u in first]
    assert a == expected
    assert b == expected
