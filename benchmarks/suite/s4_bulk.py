"""Section 4: bulk insert, rows/s.

* ``copyfrom``        generated ``copy_bookings`` on ``db.admin()``: binary COPY from typed
                      ``CopyBookingsParams`` Structs (enum and JSON encoded by the function)
* ``raw_copy``        asyncpg ``copy_records_to_table`` of ready tuples (the floor)
* ``raw_copy_structs`` the same from the same typed objects, the tuples (enum value, JSON text)
                      built inside the timing: the work a user with typed data does by hand
* ``executemany``     asyncpg ``executemany`` of the INSERT (fewer rows: it is the slow path)
* ``tenant_copyfrom`` ``copy_bookings`` on ``db.tenant(ctx)``: PostgreSQL refuses COPY under RLS,
                      so the tenant lane inserts from ``unnest()`` arrays (one statement)

Each round inserts fresh rows for tenant 0 and deletes them afterwards (not timed); rounds
alternate the order; figures are medians.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions

from . import calls
from .env import Env
from .progress import Progress

Run = Callable[[list[Any]], Awaitable[None]]
Prepare = Callable[[list[Any]], list[Any]]
INSERT_SQL = (
    f"INSERT INTO bookings ({', '.join(calls.COPY_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i + 1}' for i in range(len(calls.COPY_COLUMNS)))})"
)


BARE_SCHEMA = """
CREATE TYPE booking_status AS ENUM
    ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled');
CREATE TABLE bookings (
    tenant_id uuid NOT NULL, id uuid NOT NULL, reference text NOT NULL, property_id uuid NOT NULL,
    room_id uuid NOT NULL, guest_id uuid NOT NULL, status booking_status NOT NULL,
    check_in date NOT NULL, check_out date NOT NULL, guests_count integer NOT NULL,
    total_amount numeric(10,2) NOT NULL, currency char(3) NOT NULL, metadata jsonb NOT NULL
);
ALTER TABLE bookings OWNER TO app_admin;
"""


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    """The example table (FKs, unique keys, indexes, RLS), then a bare table of the same
    columns (no constraint or index): the server's share vs the client's ceiling."""
    result = {"example_table": await _measure(env, env.pg.admin_dsn, env.pg.tenant_dsn, progress)}
    local = await env.pg.create_database("bench_copy")
    try:
        boot = await asyncpg.connect(local.superuser_dsn)
        try:
            await boot.execute(BARE_SCHEMA)
        finally:
            await boot.close()
        result["bare_table"] = await _measure(env, local.admin_dsn, None, progress)
    finally:
        await env.pg.drop_database("bench_copy")
    return result


async def _measure(
    env: Env, admin_dsn: str, tenant_dsn: str | None, progress: Progress
) -> dict[str, Any]:
    cfg = env.cfg
    tenant = uuid.UUID(env.tenant)
    counter = iter(range(10**9))

    def items(n: int) -> list[Any]:
        batch = next(counter)
        return [calls.copy_item(tenant, env.parents, f"BENCH-{batch}-{i}", i) for i in range(n)]

    conn = await asyncpg.connect(admin_dsn)
    options = PoolOptions(min_size=1, max_size=1)
    db = Database(admin=admin_dsn, tenant=tenant_dsn, pool=options)
    ctx = TenantContext(tenant_id=env.tenant)
    try:
        await db.open()

        async def copyfrom(rows: list[Any]) -> None:
            async with db.admin(reason="benchmark") as adm:
                assert await calls.copy_bookings(adm, rows) == len(rows)

        async def tenant_copyfrom(rows: list[Any]) -> None:
            async with db.tenant(ctx) as tx:
                assert await calls.copy_bookings(tx, rows) == len(rows)

        async def raw_copy(tuples: list[Any]) -> None:
            await conn.copy_records_to_table("bookings", records=tuples, columns=calls.COPY_COLUMNS)

        async def raw_copy_structs(rows: list[Any]) -> None:
            tuples = [calls.copy_tuple(r) for r in rows]  # timed: the same work copyfrom does
            await conn.copy_records_to_table("bookings", records=tuples, columns=calls.COPY_COLUMNS)

        async def executemany(tuples: list[Any]) -> None:
            await conn.executemany(INSERT_SQL, tuples)

        def structs(rows: list[Any]) -> list[Any]:
            return rows  # the typed input generated code takes

        def tuples(rows: list[Any]) -> list[Any]:
            return [calls.copy_tuple(r) for r in rows]  # what raw asyncpg takes (not timed)

        variants: dict[str, tuple[Run, Prepare, int]] = {
            "copyfrom": (copyfrom, structs, cfg.copy_rows),
            "raw_copy": (raw_copy, tuples, cfg.copy_rows),
            "raw_copy_structs": (raw_copy_structs, structs, cfg.copy_rows),
            "tenant_copyfrom": (tenant_copyfrom, structs, cfg.copy_rows),
            "executemany": (executemany, tuples, cfg.executemany_rows),
        }
        if tenant_dsn is None:
            del variants["tenant_copyfrom"]
        names = list(variants)
        rates: dict[str, list[float]] = {name: [] for name in names}
        for r in range(cfg.copy_rounds + 1):  # round 0 warms up
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                fn, prepare, n = variants[name]
                payload = prepare(items(n))
                start = time.perf_counter()
                await fn(payload)
                elapsed = time.perf_counter() - start
                if r:
                    rates[name].append(n / elapsed)
                await conn.execute("DELETE FROM bookings WHERE reference LIKE 'BENCH-%'")
            await conn.execute("VACUUM bookings")
        progress.advance()
    finally:
        await db.close()
        await conn.close()
    rps = {name: sorted(values)[len(values) // 2] for name, values in rates.items()}
    out = {
        "rows": {name: n for name, (_, _, n) in variants.items()},
        "rows_per_s": rps,
        "copyfrom_over_raw_copy": rps["copyfrom"] / rps["raw_copy"],
        "copyfrom_over_raw_copy_structs": rps["copyfrom"] / rps["raw_copy_structs"],
        "copyfrom_over_executemany": rps["copyfrom"] / rps["executemany"],
    }
    if "tenant_copyfrom" in rps:
        out["tenant_copyfrom_over_raw_copy"] = rps["tenant_copyfrom"] / rps["raw_copy"]
    return out
