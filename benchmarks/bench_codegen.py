"""What the generated query layer costs over raw asyncpg, and what it saves over msgspec.convert.

Starts its own embedded PostgreSQL, migrates ``schema/``, seeds one tenant with 1,000
bookings (half the guests without a phone), then times three ways of reading the same 1,000
rows of ``ListBookingDigests`` (uuid, text, numeric, timestamptz, enum, jsonb, nullable text,
int) over one connection, with the same prepared SQL:

* ``raw_fetch``   ``conn.fetch(LIST_BOOKING_DIGESTS.sql, 1000)``: asyncpg Records, enums and
                  json left as strings (the floor)
* ``generated``   ``bookings.list_booking_digests(AsyncpgExecutor(conn), max_rows=1000)``:
                  typed Structs, enums as StrEnum, jsonb decoded
* ``convert``     fetch, then ``msgspec.convert(dict(record) with json pre-decoded, Row)``
                  (the usual "validate a dict" approach)
* ``generated_decode`` / ``convert_decode``: the same two conversions over Records fetched
                  once beforehand, i.e. the client-side decoding cost alone

Each round runs every variant ``--ops`` times in a rotated order (interleaved); the figure is
the median over ``--rounds`` rounds of the per-call mean, after one warm-up round. It also
times one ``python -m tenantdb.codegen.run --check`` of the example project (wall time;
``nox -s codegen`` adds only nox's own start-up).

Run: ``PYTHONPATH=generated python benchmarks/bench_codegen.py [--rounds 9] [--ops 30]
[--json out.json]`` (``nox -s bench`` sets ``PYTHONPATH``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
from hospitality import bookings

from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.local import LocalPostgres
from tenantdb.migrate import up

ROOT = Path(__file__).resolve().parent.parent
ROWS = 1_000
Row = bookings.ListBookingDigestsRow


async def _seed(conn: asyncpg.Connection) -> None:
    tenant = await conn.fetchval(
        "INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id"
    )
    prop = await conn.fetchval(
        "INSERT INTO properties (tenant_id, code, name) VALUES ($1, 'HQ', 'HQ') RETURNING id",
        tenant,
    )
    room = await conn.fetchval(
        "INSERT INTO rooms (tenant_id, property_id, number, nightly_rate)"
        " VALUES ($1, $2, '1', 100) RETURNING id",
        tenant,
        prop,
    )
    guests = [uuid.uuid4() for _ in range(2)]
    await conn.executemany(
        "INSERT INTO guests (tenant_id, id, full_name, phone) VALUES ($1, $2, 'G', $3)",
        [(tenant, guests[0], "+351 000"), (tenant, guests[1], None)],
    )
    await conn.execute(
        """INSERT INTO bookings (tenant_id, reference, property_id, room_id, guest_id, status,
                                 check_in, check_out, total_amount, metadata)
           SELECT $1, 'BK-' || i, $2, $3, CASE WHEN i % 2 = 0 THEN $4::uuid ELSE $5::uuid END,
                  (ARRAY['pending','confirmed','cancelled'])[1 + i % 3]::booking_status,
                  date '2026-01-01' + i, date '2026-01-02' + i, i * 1.25,
                  jsonb_build_object('source', 'web', 'n', i, 'tags', jsonb_build_array('a', i))
           FROM generate_series(1, $6::int) AS i""",
        tenant,
        prop,
        room,
        guests[0],
        guests[1],
        ROWS,
    )


def _variants(conn: asyncpg.Connection) -> dict[str, Callable[[], Awaitable[Any]]]:
    ex = AsyncpgExecutor(conn)
    sql = bookings.LIST_BOOKING_DIGESTS.sql

    async def raw_fetch() -> Any:
        return await conn.fetch(sql, ROWS)

    async def generated() -> Any:
        return await bookings.list_booking_digests(ex, max_rows=ROWS)

    async def convert() -> Any:
        out = []
        for r in await conn.fetch(sql, ROWS):
            d = dict(r)
            d["metadata"] = msgspec.json.decode(d["metadata"])
            out.append(msgspec.convert(d, Row))
        return out

    return {"raw_fetch": raw_fetch, "generated": generated, "convert": convert}


def _decode_variants(records: list[asyncpg.Record]) -> dict[str, Callable[[], Awaitable[Any]]]:
    """Client-side decoding only, over already fetched Records (no server or wire time)."""
    build = bookings.LIST_BOOKING_DIGESTS.from_record
    assert build is not None

    async def generated_decode() -> Any:
        return list(map(build, records))

    async def convert_decode() -> Any:
        out = []
        for r in records:
            d = dict(r)
            d["metadata"] = msgspec.json.decode(d["metadata"])
            out.append(msgspec.convert(d, Row))
        return out

    return {"generated_decode": generated_decode, "convert_decode": convert_decode}


async def _time(fn: Callable[[], Awaitable[Any]], ops: int) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        await fn()
    return (time.perf_counter() - start) / ops


async def _measure(conn: asyncpg.Connection, rounds: int, ops: int) -> dict[str, float]:
    records = await conn.fetch(bookings.LIST_BOOKING_DIGESTS.sql, ROWS)
    variants = {**_variants(conn), **_decode_variants(records)}
    assert await variants["generated"]() == await variants["convert"]()  # same rows both ways
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for rnd in range(rounds + 1):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            t = await _time(variants[name], ops)
            if rnd:  # round 0 warms up
                samples[name].append(t)
    return {n: statistics.median(s) for n, s in samples.items()}


def _codegen_wall_time() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tenantdb.codegen.run", "--check"], cwd=ROOT, check=True)
    return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--ops", type=int, default=30)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    async with LocalPostgres() as pg:
        await up(pg.admin_dsn, ROOT / "schema")
        conn = await asyncpg.connect(pg.admin_dsn)
        try:
            await _seed(conn)
            rows = await bookings.list_booking_digests(AsyncpgExecutor(conn), max_rows=ROWS)
            assert len(rows) == ROWS
            assert isinstance(rows[0], Row)
            medians = await _measure(conn, args.rounds, args.ops)
        finally:
            await conn.close()
    codegen_s = _codegen_wall_time()
    result = {
        "rows": ROWS,
        "median_seconds_per_call": medians,
        "generated_over_raw_fetch": medians["generated"] / medians["raw_fetch"],
        "convert_over_generated": medians["convert"] / medians["generated"],
        "convert_over_generated_decode_only": medians["convert_decode"]
        / medians["generated_decode"],
        "targets": {"generated_over_raw_fetch_max": 1.5, "convert_over_generated_min": 1.6},
        "codegen_check_wall_seconds": codegen_s,
    }
    print(json.dumps(result, indent=2))
    print()
    print(f"{'variant':<18} {'ms / 1,000 rows':>16} {'vs raw_fetch':>13}")
    for name, t in medians.items():
        print(f"{name:<18} {t * 1e3:>16.3f} {t / medians['raw_fetch']:>12.2f}x")
    print(
        f"\ngenerated / raw_fetch = {result['generated_over_raw_fetch']:.2f}x (target <= 1.5x)"
        f"\nconvert / generated   = {result['convert_over_generated']:.2f}x (target >= 1.6x)"
        f" end to end; {result['convert_over_generated_decode_only']:.2f}x decoding only"
        f"\ncodegen --check wall time: {codegen_s:.2f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
