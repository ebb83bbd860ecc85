"""What a transaction pooler costs per tenant transaction: pgbouncer vs a direct connection.

Standalone (it will be folded into the benchmark suite): starts its own embedded PostgreSQL
and a pgbouncer (Debian's binary, ``pool_mode = transaction``, 5 server connections) over it,
creates an RLS-protected ``items`` table, and times single-query tenant transactions
(``async with db.tenant(ctx) as tx: await tx.one(GET_ITEM, …)``: three round trips):

* ``direct``    tenant lane straight to PostgreSQL, statement cache on (the default)
* ``direct0``   the same with ``statement_cache_size=0`` (what pgbouncer 1.18 requires)
* ``pooled``    through pgbouncer, ``statement_cache_size=0``

sequentially (one task: the added per-transaction latency of the extra hop) and with 50
concurrent tasks over a 50-connection client pool (throughput when 50 clients share 5 server
connections). Rounds interleave the variants in a rotating order; figures are medians.
Prints a table, the ratios to ``direct`` and, with ``--json``, machine-readable results.

Run: ``python benchmarks/bench_pooler.py [--rounds 7] [--ops 300] [--json out.json]``.
Needs pgbouncer on PATH or in /usr/sbin (``apt-get install pgbouncer``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import structlog

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalPostgres, Roles
from tenantdb.local.pgbouncer import LocalPgBouncer, find_pgbouncer, pgbouncer_version
from tenantdb.query import Command, Param, Query

SCHEMA = """
CREATE TABLE items (tenant_id uuid NOT NULL, id int NOT NULL, name text NOT NULL,
                    PRIMARY KEY (tenant_id, id));
ALTER TABLE items ENABLE ROW LEVEL SECURITY;
ALTER TABLE items FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON items FOR ALL
  USING (tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid)
  WITH CHECK (tenant_id = nullif(current_setting('app.current_tenant_id', true), '')::uuid);
ALTER TABLE items OWNER TO app_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO app_tenant;
"""
TENANTS = 50
CONCURRENCY = 50


class Item(msgspec.Struct, frozen=True):
    id: int
    name: str


GET_ITEM: Query[Item] = Query(
    name="GetItem",
    command=Command.ONE,
    sql="SELECT id, name FROM items WHERE id = $1",
    data_api_sql="SELECT id, name FROM items WHERE id = :id",
    params=(Param(name="id", number=1, pg_type="int4"),),
    row=Item,
    from_record=lambda r: Item(r[0], r[1]),
)


async def _seed(pg: LocalPostgres) -> list[str]:
    tenants = [str(uuid.uuid4()) for _ in range(TENANTS)]
    conn = await asyncpg.connect(pg.dsn("postgres"))
    try:
        await conn.execute(SCHEMA)
        await conn.executemany(
            "INSERT INTO items VALUES ($1, $2, $3)",
            [(t, i, f"item {i}") for t in tenants for i in range(10)],
        )
    finally:
        await conn.close()
    return tenants


def _variants(pg: LocalPostgres, bouncer: LocalPgBouncer) -> dict[str, Database]:
    def db(tenant: str, cache: int) -> Database:
        pool = PoolOptions(min_size=CONCURRENCY, max_size=CONCURRENCY, statement_cache_size=cache)
        return Database(tenant=tenant, pool=pool)

    return {
        "direct": db(pg.tenant_dsn, 100),
        "direct0": db(pg.tenant_dsn, 0),
        "pooled": db(bouncer.dsn(Roles.TENANT), 0),
    }


async def _one(db: Database, tenant: str, i: int) -> None:
    async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
        row = await tx.one(GET_ITEM, (i % 10,))
    assert row is not None


def _sequential(db: Database, tenants: list[str], ops: int) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for i in range(ops):
            await _one(db, tenants[i % len(tenants)], i)

    return run


def _concurrent(db: Database, tenants: list[str], ops: int) -> Callable[[], Awaitable[None]]:
    async def worker(w: int) -> None:
        for i in range(ops // CONCURRENCY):
            await _one(db, tenants[w % len(tenants)], i)

    async def run() -> None:
        await asyncio.gather(*(worker(w) for w in range(CONCURRENCY)))

    return run


async def _measure(
    runs: dict[str, Callable[[], Awaitable[None]]], rounds: int, ops: int
) -> dict[str, float]:
    """Median microseconds per transaction, variants interleaved in a rotating order."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for fn in runs.values():
        await fn()  # warm-up: pools filled, plans cached
    for r in range(rounds):
        rotated = order[r % len(order) :] + order[: r % len(order)]
        for name in rotated:
            start = time.perf_counter()
            await runs[name]()
            times[name].append((time.perf_counter() - start) / ops * 1e6)
    return {name: statistics.median(v) for name, v in times.items()}


async def main(rounds: int, ops: int) -> dict[str, Any]:
    binary = find_pgbouncer()
    if binary is None:  # a skip, not a failure: the suite runs on machines without it
        print("bench_pooler: skipped, pgbouncer is not installed (apt-get install pgbouncer)")
        return {"skipped": "pgbouncer is not installed"}
    async with LocalPostgres() as pg, LocalPgBouncer(pg, pool_size=5) as bouncer:
        tenants = await _seed(pg)
        dbs = _variants(pg, bouncer)
        for db in dbs.values():
            await db.open()
        try:
            seq = await _measure(
                {n: _sequential(db, tenants, ops) for n, db in dbs.items()}, rounds, ops
            )
            conc = await _measure(
                {n: _concurrent(db, tenants, ops) for n, db in dbs.items()}, rounds, ops
            )
        finally:
            for db in dbs.values():
                await db.close()
    version = ".".join(map(str, pgbouncer_version(binary)))
    result = {
        "pgbouncer": version,
        "server_connections": 5,
        "sequential_us_per_tx": seq,
        "concurrent_us_per_tx": conc,
        "ratio_sequential": {n: seq[n] / seq["direct"] for n in seq},
        "ratio_concurrent": {n: conc[n] / conc["direct"] for n in conc},
    }
    print(f"pgbouncer {version}, transaction mode, 5 server connections; {rounds} rounds x {ops}")
    print(f"{'variant':10} {'1 task µs/tx':>14} {'ratio':>7} {'50 tasks µs/tx':>16} {'ratio':>7}")
    for name in dbs:
        print(
            f"{name:10} {seq[name]:14.1f} {seq[name] / seq['direct']:7.2f} "
            f"{conc[name]:16.1f} {conc[name] / conc['direct']:7.2f}"
        )
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    results = asyncio.run(main(args.rounds, args.ops))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
