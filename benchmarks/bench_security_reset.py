"""What the session reset in the tenant BEGIN costs (docs/security.md, findings 1 and 2).

Every tenant BEGIN message also runs ``RESET ALL;RESET ROLE;DISCARD TEMP`` so that session
state left by application SQL never reaches the next tenant. This measures one tenant
transaction with one ``:one`` query (``db.tenant(ctx)`` + ``SELECT count(*)``), with the reset
(``reset``, the shipped behaviour) and without it (``no_reset``, the behaviour before the
review), on the same server and pool, single task, loopback TCP.

Each round runs both variants ``--ops`` times after a warm-up, in alternating order; the figure
is the median over ``--rounds`` rounds of the per-request mean.

Run: ``python benchmarks/bench_security_reset.py [--rounds 21] [--ops 300] [--json out.json]``.
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

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg import lane as asyncpg_lane
from tenantdb.drivers.asyncpg import sql as _asyncpg_sql
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalPostgres
from tenantdb.query import Command, Query

SCHEMA = """
CREATE TABLE items (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
ALTER TABLE items ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON items FOR ALL
    USING (tenant_id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid));
ALTER TABLE items OWNER TO app_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO app_tenant;
"""


class _N(msgspec.Struct, frozen=True):
    n: int


COUNT: Query[_N] = Query(
    name="Count",
    command=Command.ONE,
    sql="SELECT count(*) FROM items",
    data_api_sql="SELECT count(*) FROM items",
    row=_N,
    from_record=lambda r: _N(r[0]),
)
_SHIPPED = _asyncpg_sql.begin_script


def _without_reset(**kw: Any) -> str:
    return _SHIPPED(**{**kw, "clear_session": False})


def _use(variant: str) -> None:
    asyncpg_lane.sql.begin_script = _SHIPPED if variant == "reset" else _without_reset  # type: ignore[attr-defined]
    asyncpg_lane._begin_plan.cache_clear()


async def _run(db: Database, ctx: TenantContext, ops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(ops):
        async with db.tenant(ctx) as tx:
            await tx.one(COUNT, ())
    return (time.perf_counter() - t0) / ops * 1e6


async def main(rounds: int, ops: int) -> dict[str, Any]:
    async with LocalPostgres() as pg:
        su = await asyncpg.connect(pg.superuser_dsn)
        await su.execute(SCHEMA)
        await su.close()
        ctx = TenantContext(tenant_id=str(uuid.uuid4()))
        samples: dict[str, list[float]] = {"reset": [], "no_reset": []}
        async with Database(tenant=pg.tenant_dsn, pool=PoolOptions(max_size=1)) as db:
            for r in range(rounds):
                order = ["reset", "no_reset"] if r % 2 == 0 else ["no_reset", "reset"]
                for variant in order:
                    _use(variant)
                    await _run(db, ctx, ops // 10)  # warm-up (statement cache, plan)
                    samples[variant].append(await _run(db, ctx, ops))
            _use("reset")
    medians = {k: statistics.median(v) for k, v in samples.items()}
    return {
        "us_per_request": medians,
        "ratio_reset_vs_no_reset": medians["reset"] / medians["no_reset"],
        "rounds": rounds,
        "ops": ops,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        cache_logger_on_first_use=True,
    )
    result = asyncio.run(main(args.rounds, args.ops))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    m = result["us_per_request"]
    print(f"\n{'variant':<10} {'µs/request':>11}")
    for name in ("no_reset", "reset"):
        print(f"{name:<10} {m[name]:>11.1f}")
    print(f"reset / no_reset = {result['ratio_reset_vs_no_reset']:.3f}")
