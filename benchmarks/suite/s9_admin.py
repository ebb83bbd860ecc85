"""Section 9: migrations and seeding (full run only), each in a database of its own.

* migrations: the whole chain down to 0 and up again through ``tenantdb.migrate`` vs the same
  files executed raw (one ``conn.execute`` per file in a transaction: no lock, no tracking
  table, no statement splitting). The brief asks for down+up under 30 s.
* seeding: ``tenantdb.seed.seed`` (generates rows while streaming COPY) vs a raw asyncpg COPY
  of the same rows generated beforehand (COPY alone). Target: seed >= 0.8x raw rows/s.

Interleaved rounds after a warm-up; medians.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from tenantdb.admin import seed_data as data
from tenantdb.migrate import down, up
from tenantdb.seed import seed

from .env import SCHEMA_DIR, Env
from .progress import Progress


async def _medians(
    variants: dict[str, Callable[[], Awaitable[None]]], rounds: int
) -> dict[str, float]:
    for fn in variants.values():
        await fn()
    names = list(variants)
    samples: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            await variants[name]()
            samples[name].append(time.perf_counter() - start)
    return {n: statistics.median(v) for n, v in samples.items()}


async def _raw_migrate(dsn: str, suffix: str) -> None:
    files = sorted(SCHEMA_DIR.glob(f"*.{suffix}.sql"), reverse=suffix == "down")
    conn = await asyncpg.connect(dsn)
    try:
        for path in files:
            async with conn.transaction():
                await conn.execute("SET LOCAL ROLE app_owner")
                await conn.execute(path.read_text())
    finally:
        await conn.close()


async def _migrations(env: Env) -> dict[str, Any]:
    runner = (await env.pg.create_database("bench_runner")).admin_dsn
    raw = (await env.pg.create_database("bench_raw")).admin_dsn
    try:

        async def runner_cycle() -> None:
            await down(runner, SCHEMA_DIR, to=0)
            await up(runner, SCHEMA_DIR)

        async def raw_cycle() -> None:
            await _raw_migrate(raw, "down")
            await _raw_migrate(raw, "up")

        await up(runner, SCHEMA_DIR)
        await _raw_migrate(raw, "up")
        med = await _medians({"runner": runner_cycle, "raw": raw_cycle}, env.cfg.admin_rounds)
    finally:
        await env.pg.drop_database("bench_runner")
        await env.pg.drop_database("bench_raw")
    return {
        "files": len(list(SCHEMA_DIR.glob("*.up.sql"))),
        "down_up_s": med,
        "runner_over_raw": med["runner"] / med["raw"],
        "runner_within_30s": med["runner"] < 30.0,
    }


async def _seeding(env: Env) -> dict[str, Any]:
    cfg = env.cfg
    target = (await env.pg.create_database("bench_seed")).admin_dsn
    try:
        await up(target, SCHEMA_DIR)
        plans = data.plan_tenants(
            tenants=cfg.admin_seed_tenants, bookings_per_tenant=cfg.admin_seed_bookings, seed=1
        )
        tables = {t: [r for p in plans for r in data.rows(p, t, seed=1)] for t in data.TABLES}
        total = sum(len(v) for v in tables.values())

        async def run_seed() -> None:
            await seed(
                target,
                tenants=cfg.admin_seed_tenants,
                bookings_per_tenant=cfg.admin_seed_bookings,
                seed=1,
                reset=True,
                analyze=False,
            )

        async def raw_copy() -> None:
            conn = await asyncpg.connect(target)
            try:
                await conn.set_builtin_type_codec("citext", schema="public", codec_name="text")
                async with conn.transaction():
                    await conn.execute(f"TRUNCATE {', '.join(data.TABLES)}")
                    for table, records in tables.items():
                        await conn.copy_records_to_table(
                            table, records=records, columns=data.COLUMNS[table]
                        )
            finally:
                await conn.close()

        med = await _medians({"seed": run_seed, "raw_copy": raw_copy}, cfg.admin_rounds)
    finally:
        await env.pg.drop_database("bench_seed")
    return {
        "rows": total,
        "seconds": med,
        "rows_per_s": {k: total / v for k, v in med.items()},
        "seed_over_raw_copy": med["raw_copy"] / med["seed"],
    }


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    migrations = await _migrations(env)
    progress.advance()
    seeding = await _seeding(env)
    progress.advance()
    return {"migrations": migrations, "seeding": seeding}
