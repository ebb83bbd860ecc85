"""Seeding throughput: ``tenantdb.seed.seed`` vs a raw asyncpg COPY of the same rows.

The baseline gets the rows pre-generated in memory (so it measures COPY alone); ``seed``
generates them on the fly while streaming. Both run TRUNCATE + one COPY per table in one
transaction on a fresh connection, interleaved, after a warm-up; medians of the rounds.
Target from the brief: seed >= 0.8x the baseline's rows/s.

    python benchmarks/bench_seed.py [--tenants 10] [--bookings-per-tenant 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
from _rounds import interleaved_medians

from tenantdb.admin import seed_data as data
from tenantdb.local import LocalPostgres
from tenantdb.migrate import up
from tenantdb.seed import seed

SCHEMA = Path(__file__).resolve().parent.parent / "schema"


async def _raw_copy(dsn: str, tables: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = await asyncpg.connect(dsn)
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


async def main(tenants: int, per_tenant: int, rounds: int) -> dict[str, Any]:
    async with LocalPostgres() as pg:
        await up(pg.admin_dsn, SCHEMA)
        plans = data.plan_tenants(tenants=tenants, bookings_per_tenant=per_tenant, seed=1)
        tables = {t: [r for p in plans for r in data.rows(p, t, seed=1)] for t in data.TABLES}
        total = sum(len(v) for v in tables.values())

        async def run_seed() -> None:
            await seed(
                pg.admin_dsn,
                tenants=tenants,
                bookings_per_tenant=per_tenant,
                seed=1,
                reset=True,
                analyze=False,
            )

        async def run_raw() -> None:
            await _raw_copy(pg.admin_dsn, tables)

        med = await interleaved_medians({"seed": run_seed, "raw_copy": run_raw}, rounds)
    return {
        "benchmark": "seed",
        "rows": total,
        "tenants": tenants,
        "bookings_per_tenant": per_tenant,
        "rounds": rounds,
        "median_s": med,
        "rows_per_s": {k: total / v for k, v in med.items()},
        "ratio_seed_vs_raw_copy": med["raw_copy"] / med["seed"],
        "target_ratio": 0.8,
    }


def _table(result: dict[str, Any]) -> str:
    lines = [
        f"seeding {result['rows']:,} rows, median of {result['rounds']} rounds",
        f"{'variant':<10} {'median s':>10} {'rows/s':>12}",
    ]
    for name, secs in result["median_s"].items():
        lines.append(f"{name:<10} {secs:>10.3f} {result['rows_per_s'][name]:>12,.0f}")
    lines.append(
        f"seed / raw COPY throughput: {result['ratio_seed_vs_raw_copy']:.2f}x "
        f"(target >= {result['target_ratio']}x)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10)
    parser.add_argument("--bookings-per-tenant", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main(args.tenants, args.bookings_per_tenant, max(args.rounds, 5)))
    print(json.dumps(result, indent=2))
    print(_table(result))
