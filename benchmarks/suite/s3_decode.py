"""Section 3: what the generated ``:many`` costs over a raw fetch, and its memory.

Time: the 1,000 rows x 8 mixed columns of ``ListBookingDigests`` (uuid, text, numeric,
timestamptz, enum, jsonb, nullable text, int) over one admin connection with the same prepared
SQL, interleaved rounds:

* ``raw_fetch``         ``conn.fetch(sql, 1000)``: asyncpg Records, enum and json left as text
* ``generated``         ``list_booking_digests(AsyncpgExecutor(conn), max_rows=1000)``
* ``convert``           fetch + ``msgspec.convert(dict(record) with json decoded, Row)``
* ``*_decode``          the same conversions over Records fetched beforehand (client CPU only)

and two ideas for the rest of the generated overhead, each measured, not shipped:

* ``idea_codecs``       asyncpg codecs registered once per connection (jsonb -> msgspec decode,
                        booking_status -> the StrEnum) on a second connection, so the rows need no
                        per-column work: ``list(itertools.starmap(Row, records))``
* ``idea_starmap``      the generated row function applied with ``list(map(...))`` is what
                        ships; this variant builds the Struct positionally from a tuple slice
                        (``Row(*r)``-style, via ``starmap``) after decoding json/enums in one
                        comprehension, to price the per-row Python frame alone

Memory (tracemalloc peak, bytes): a ``:many`` of N rows as Structs vs the raw Records, and
``iter_list_booking_digests`` streaming N and N/10 rows (flat: the peak must not grow with N).
"""

from __future__ import annotations

import itertools
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec

from tenantdb.drivers.asyncpg.executor import AsyncpgExecutor
from tenantdb.migrate import up
from tenantdb.seed import seed

from . import calls, timing
from .env import SCHEMA_DIR, Env
from .progress import Progress

ROWS = 1_000
_json = msgspec.json.decode


async def _with_codecs(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec("jsonb", encoder=str, decoder=_json, schema="pg_catalog")
    await conn.set_type_codec(
        "booking_status",
        encoder=str,
        decoder=calls.BookingStatus,
        schema="public",
        format="text",
    )
    return conn


def _variants(conn: Any, fast: Any) -> dict[str, Callable[[], Awaitable[Any]]]:
    ex = AsyncpgExecutor(conn)
    sql = calls.DIGESTS.sql
    row = calls.DigestRow
    status = calls.BookingStatus

    async def raw_fetch() -> Any:
        return await conn.fetch(sql, ROWS)

    async def generated() -> Any:
        return await calls.list_digests(ex, ROWS)

    async def convert() -> Any:
        out = []
        for r in await conn.fetch(sql, ROWS):
            d = dict(r)
            d["metadata"] = _json(d["metadata"])
            out.append(msgspec.convert(d, row))
        return out

    async def idea_codecs() -> Any:
        return list(itertools.starmap(row, await fast.fetch(sql, ROWS)))

    async def idea_starmap() -> Any:
        records = await conn.fetch(sql, ROWS)
        return list(
            itertools.starmap(
                row, [(*r[:4], status(r[4]), _json(r[5]), r[6], r[7]) for r in records]
            )
        )

    return {
        "raw_fetch": raw_fetch,
        "generated": generated,
        "convert": convert,
        "idea_codecs": idea_codecs,
        "idea_starmap": idea_starmap,
    }


def _decode_only(records: list[Any]) -> dict[str, Callable[[], Awaitable[Any]]]:
    build = calls.DIGESTS.from_record
    row = calls.DigestRow

    async def generated_decode() -> Any:
        return list(map(build, records))

    async def convert_decode() -> Any:
        out = []
        for r in records:
            d = dict(r)
            d["metadata"] = _json(d["metadata"])
            out.append(msgspec.convert(d, row))
        return out

    return {"generated_decode": generated_decode, "convert_decode": convert_decode}


async def _peak(fn: Callable[[], Awaitable[Any]]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = await fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak


async def _memory(conn: Any, rows: int) -> dict[str, Any]:
    ex = AsyncpgExecutor(conn)
    sql = calls.DIGESTS.sql

    async def many() -> Any:
        return await calls.list_digests(ex, rows)

    async def raw() -> Any:
        return await conn.fetch(sql, rows)

    def stream(n: int) -> Callable[[], Awaitable[int]]:
        async def consume() -> int:
            count = 0
            async for _ in calls.iter_digests(ex, n):
                count += 1
            return count

        return consume

    got = len(await many())
    out = {
        "rows": got,
        "many_peak_bytes": await _peak(many),
        "raw_peak_bytes": await _peak(raw),
        "stream_peak_bytes": await _peak(stream(rows)),
        "stream_tenth_peak_bytes": await _peak(stream(max(rows // 10, 1))),
    }
    out["many_over_raw"] = out["many_peak_bytes"] / out["raw_peak_bytes"]
    out["stream_growth_10x_rows"] = out["stream_peak_bytes"] / out["stream_tenth_peak_bytes"]
    out["stream_over_many"] = out["stream_peak_bytes"] / out["many_peak_bytes"]
    return out


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    cfg = env.cfg
    # Timing in a database of its own holding one tenant of 1,300 bookings, so the server's
    # sort stays small next to the client's decoding whatever the main data set's size.
    local = await env.pg.create_database("bench_decode")
    try:
        await up(local.admin_dsn, SCHEMA_DIR)
        await seed(local.admin_dsn, tenants=1, bookings_per_tenant=1_300, seed=2, analyze=True)
        result = await _timed(local.admin_dsn, cfg, progress)
    finally:
        await env.pg.drop_database("bench_decode")
    conn = await asyncpg.connect(env.pg.admin_dsn)
    try:
        result["memory"] = await _memory(conn, min(cfg.memory_rows, env.total_bookings))
    finally:
        await conn.close()
    progress.advance()
    return result


async def _timed(dsn: str, cfg: Any, progress: Progress) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    fast = await _with_codecs(dsn)
    try:
        records = await conn.fetch(calls.DIGESTS.sql, ROWS)
        variants = {**_variants(conn, fast), **_decode_only(records)}
        expected = await variants["generated"]()
        assert len(expected) == ROWS
        assert expected == await variants["convert"]()
        assert expected == await variants["idea_codecs"]()
        assert expected == await variants["idea_starmap"]()
        ms = {
            k: v * 1e3
            for k, v in timing.medians(
                await timing.interleaved(variants, rounds=cfg.decode_rounds, ops=cfg.decode_ops)
            ).items()
        }
        progress.advance()
    finally:
        await conn.close()
        await fast.close()
    raw = ms["raw_fetch"]
    return {
        "rows": ROWS,
        "ms_per_call": ms,
        "generated_over_raw_fetch": ms["generated"] / raw,
        "convert_over_generated": ms["convert"] / ms["generated"],
        "convert_over_generated_decode_only": ms["convert_decode"] / ms["generated_decode"],
        "idea_codecs_over_raw_fetch": ms["idea_codecs"] / raw,
        "idea_starmap_over_raw_fetch": ms["idea_starmap"] / raw,
        "decode_only_share_of_raw_fetch": ms["generated_decode"] / raw,
    }
