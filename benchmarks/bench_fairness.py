"""Noisy neighbours on one pool, and across SERIALIZABLE predicate locks.

Standalone (it will be folded into the benchmark suite); starts its own embedded PostgreSQL.

1. **Pool fairness.** A 10-connection tenant pool. A noisy tenant runs 100 concurrent workers,
   each looping short blocks (``SELECT pg_sleep(0.002)``). A quiet tenant runs sequential
   single-query blocks. The quiet tenant's block latency p50/p99 is reported for an idle pool
   (baseline), for the noisy tenant without a limit, and with ``PoolOptions(max_per_tenant=5)``,
   each as a ratio to the idle pool.
2. **SERIALIZABLE write skew across tenants.** Each pair is two SERIALIZABLE transactions of
   one tenant that each read the tenant's on-call doctors and then take a different doctor off
   call (the textbook write skew: PostgreSQL must abort one of the two). 60 pairs run one tenant
   at a time, then 10 tenants at once. With no tenant-leading index, the RLS-filtered read is a
   sequential scan that takes a relation-level predicate lock, so pairs of *different* tenants
   conflict too. With a ``(tenant_id, doctor)`` index the read locks only that tenant's index
   range. The benchmark reports commits out of 120 for each table shape.

Run: ``python benchmarks/bench_fairness.py [--seconds 3] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
import uuid
from typing import Any

import asyncpg
import msgspec
import structlog

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalPostgres
from tenantdb.query import Command, Param, Query

POLICY = "tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)"
NOISY_WORKERS = 100
PAIRS = 60
ROWS_PER_TENANT = 50
FILLER_TENANTS = 60


class _N(msgspec.Struct, frozen=True):
    n: int


def _q(name: str, sql: str, *types: str, row: bool = True) -> Query[Any]:
    params = tuple(Param(name=f"p{i}", number=i, pg_type=t) for i, t in enumerate(types, 1))
    return Query(
        name=name,
        command=Command.ONE if row else Command.EXEC,
        sql=sql,
        data_api_sql=sql,
        params=params,
        row=_N if row else None,
        from_record=(lambda r: _N(r[0])) if row else None,
    )


SLEEP = _q("Sleep", "SELECT 1 FROM pg_sleep(0.002)")
ONE = _q("One", "SELECT 1")
ON_CALL = _q("OnCall", "SELECT count(*)::int FROM shifts WHERE on_call")
OFF_CALL = _q("OffCall", "UPDATE shifts SET on_call = false WHERE doctor = $1", "int4", row=False)


# -- 1. pool fairness ------------------------------------------------------------------------------
async def _quiet_latencies(
    pg: LocalPostgres, cap: int | None, noisy: bool, secs: float
) -> list[float]:
    pool = PoolOptions(min_size=10, max_size=10, max_per_tenant=cap, acquire_timeout=60.0)
    loud, calm = (
        TenantContext(tenant_id=str(uuid.uuid4())),
        TenantContext(tenant_id=str(uuid.uuid4())),
    )
    stop = asyncio.Event()
    latencies: list[float] = []
    async with Database(tenant=pg.tenant_dsn, pool=pool) as db:

        async def noisy_worker() -> None:
            while not stop.is_set():
                async with db.tenant(loud, readonly=True) as tx:
                    await tx.one(SLEEP, ())

        async def quiet() -> None:
            deadline = time.monotonic() + secs
            while time.monotonic() < deadline:
                t0 = time.perf_counter()
                async with db.tenant(calm, readonly=True) as tx:
                    await tx.one(ONE, ())
                latencies.append((time.perf_counter() - t0) * 1000)
                await asyncio.sleep(0.001)  # a request every ~millisecond, not a busy loop
            stop.set()

        workers = [
            asyncio.ensure_future(noisy_worker()) for _ in range(NOISY_WORKERS if noisy else 0)
        ]
        await asyncio.sleep(0.2 if noisy else 0)  # let the noisy tenant fill the pool
        await quiet()
        await asyncio.gather(*workers)
    return latencies


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fairness(pg: LocalPostgres, secs: float) -> dict[str, Any]:
    runs = {
        "idle pool": await _quiet_latencies(pg, None, noisy=False, secs=secs),
        "noisy, no limit": await _quiet_latencies(pg, None, noisy=True, secs=secs),
        "noisy, max_per_tenant=5": await _quiet_latencies(pg, 5, noisy=True, secs=secs),
    }
    base50, base99 = _pct(runs["idle pool"], 0.5), _pct(runs["idle pool"], 0.99)
    out: dict[str, Any] = {}
    print("quiet tenant's block latency (ms), 10-connection pool, noisy tenant: 100 workers")
    print(f"{'':26} {'n':>6} {'p50':>8} {'x idle':>7} {'p99':>8} {'x idle':>7}")
    for name, lat in runs.items():
        p50, p99 = _pct(lat, 0.5), _pct(lat, 0.99)
        out[name] = {"n": len(lat), "p50_ms": p50, "p99_ms": p99, "mean_ms": statistics.mean(lat)}
        print(
            f"{name:26} {len(lat):6} {p50:8.2f} {p50 / base50:7.1f} {p99:8.2f} {p99 / base99:7.1f}"
        )
    return out


# -- 2. SERIALIZABLE write skew --------------------------------------------------------------------
async def _shifts_table(pg: LocalPostgres, indexed: bool) -> list[str]:
    tenants = [str(uuid.uuid4()) for _ in range(FILLER_TENANTS)]
    key = "PRIMARY KEY (tenant_id, doctor)" if indexed else "id serial PRIMARY KEY"
    conn = await asyncpg.connect(pg.dsn("postgres"))
    try:
        await conn.execute(
            f"""DROP TABLE IF EXISTS shifts;
            CREATE TABLE shifts (tenant_id uuid NOT NULL, doctor int NOT NULL,
                                 on_call bool NOT NULL DEFAULT true, {key});
            ALTER TABLE shifts ENABLE ROW LEVEL SECURITY;
            ALTER TABLE shifts FORCE ROW LEVEL SECURITY;
            CREATE POLICY p ON shifts FOR ALL USING ({POLICY}) WITH CHECK ({POLICY});
            ALTER TABLE shifts OWNER TO app_owner;
            GRANT SELECT, INSERT, UPDATE, DELETE ON shifts TO app_tenant;"""
        )
        await conn.executemany(
            "INSERT INTO shifts (tenant_id, doctor) VALUES ($1, $2)",
            [(t, d) for t in tenants for d in range(ROWS_PER_TENANT)],
        )
        await conn.execute("ANALYZE shifts")
    finally:
        await conn.close()
    return tenants


async def _pair(db: Database, tenant: str) -> int:
    """Two write-skew transactions of one tenant; how many committed (1 is correct)."""
    ctx = TenantContext(tenant_id=tenant)
    both_read = asyncio.Barrier(2)

    async def one(doctor: int) -> int:
        try:
            async with db.tenant(ctx, isolation="serializable") as tx:
                await tx.one(ON_CALL, ())
                await both_read.wait()
                await tx.exec(OFF_CALL, (doctor,))
        except errors.QueryError as exc:
            if exc.sqlstate != "40001":
                raise
            return 0
        return 1

    return sum(await asyncio.gather(one(0), one(1)))


async def write_skew(pg: LocalPostgres) -> dict[str, Any]:
    out: dict[str, Any] = {}
    print(f"\nSERIALIZABLE write-skew pairs: commits of {2 * PAIRS} transactions (ideal {PAIRS})")
    for indexed in (False, True):
        shape = "(tenant_id, doctor) key" if indexed else "no tenant-leading index"
        row: dict[str, int] = {}
        for together in (1, 10):
            tenants = await _shifts_table(pg, indexed)
            async with Database(tenant=pg.tenant_dsn, pool=PoolOptions(max_size=20)) as db:
                committed = 0
                for start in range(0, PAIRS, together):
                    batch = tenants[start : start + together]
                    committed += sum(await asyncio.gather(*(_pair(db, t) for t in batch)))
            row[f"{together} tenant(s) at once"] = committed
        out[shape] = row
        print(f"{shape:26} " + "  ".join(f"{k}: {v}" for k, v in row.items()))
    return out


async def main(secs: float) -> dict[str, Any]:
    async with LocalPostgres() as pg:
        conn = await asyncpg.connect(pg.dsn("postgres"))
        await conn.execute("GRANT USAGE ON SCHEMA public TO app_tenant")
        await conn.close()
        return {"fairness": await fairness(pg, secs), "write_skew": await write_skew(pg)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    structlog.configure(  # the expected 40001s would otherwise log one warning each
        wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR),
        cache_logger_on_first_use=True,
    )
    results = asyncio.run(main(args.seconds))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
