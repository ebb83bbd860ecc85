"""The whole migration chain, down to 0 and up again, through ``tenantdb.migrate``.

Baseline in the same run: the same files executed raw (one ``conn.execute`` per file in a
transaction, no lock, no tracking table, no statement splitting). Interleaved rounds after
a warm-up, medians. The brief asks for the runner's down+up under 30 s.

    python benchmarks/bench_migrate.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import asyncpg
from _rounds import interleaved_medians

from tenantdb.local import LocalPostgres
from tenantdb.migrate import down, up

SCHEMA = Path(__file__).resolve().parent.parent / "schema"


async def _raw(dsn: str, suffix: str) -> None:
    files = sorted(SCHEMA.glob(f"*.{suffix}.sql"), reverse=suffix == "down")
    conn = await asyncpg.connect(dsn)
    try:
        for path in files:
            async with conn.transaction():
                await conn.execute("SET LOCAL ROLE app_owner")
                await conn.execute(path.read_text())
    finally:
        await conn.close()


async def main(rounds: int) -> dict[str, Any]:
    async with LocalPostgres() as pg:
        runner_db = await pg.create_database("bench_runner")
        raw_db = await pg.create_database("bench_raw")
        dsn_runner, dsn_raw = runner_db.admin_dsn, raw_db.admin_dsn

        async def runner_cycle() -> None:
            await down(dsn_runner, SCHEMA, to=0)
            await up(dsn_runner, SCHEMA)

        async def raw_cycle() -> None:
            await _raw(dsn_raw, "down")
            await _raw(dsn_raw, "up")

        await up(dsn_runner, SCHEMA)  # the same starting state for both
        await _raw(dsn_raw, "up")
        med = await interleaved_medians({"runner": runner_cycle, "raw": raw_cycle}, rounds)
    return {
        "benchmark": "migrate",
        "migrations": len(list(SCHEMA.glob("*.up.sql"))),
        "rounds": rounds,
        "median_down_up_s": med,
        "ratio_runner_vs_raw": med["runner"] / med["raw"],
        "target_s": 30.0,
        "within_target": med["runner"] < 30.0,
    }


def _table(result: dict[str, Any]) -> str:
    med = result["median_down_up_s"]
    return "\n".join(
        [
            f"migration chain ({result['migrations']} files) down to 0 and up, "
            f"median of {result['rounds']} rounds",
            f"{'variant':<8} {'median s':>9}",
            *(f"{k:<8} {v:>9.3f}" for k, v in med.items()),
            f"runner / raw: {result['ratio_runner_vs_raw']:.2f}x; "
            f"target < {result['target_s']:.0f} s: "
            f"{'met' if result['within_target'] else 'MISSED'}",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    result = asyncio.run(main(max(args.rounds, 5)))
    print(json.dumps(result, indent=2))
    print(_table(result))
