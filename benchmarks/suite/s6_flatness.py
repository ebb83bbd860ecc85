"""Section 6: one tenant's cost as other tenants' data grows (10^4 -> 10^6 rows).

A database of its own with one RLS-protected table ``perf`` (tenant_id leads the primary key
and an index, forced RLS, the policy on ``app.current_tenant_id``). A small tenant keeps 1,000
rows while 1,000 other tenants grow to each size; at each size the top-node shared buffers of
``EXPLAIN (ANALYZE, BUFFERS)`` run inside a tenant transaction, for ``count(*)`` and "latest
50", must stay flat (Index Cond on tenant_id, no Seq Scan).
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import asyncpg

from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.query import Command, Query

from .env import Env
from .progress import Progress

SMALL = "5a11a11a-0000-4000-8000-000000000001"
SMALL_ROWS = 1_000
SCHEMA = """
CREATE FUNCTION current_tenant() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid $$;
CREATE TABLE perf (tenant_id uuid NOT NULL, id bigint NOT NULL, created_at timestamptz NOT NULL,
                   payload text NOT NULL, PRIMARY KEY (tenant_id, id));
CREATE INDEX perf_tenant_created ON perf (tenant_id, created_at);
ALTER TABLE perf ENABLE ROW LEVEL SECURITY;
ALTER TABLE perf FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON perf FOR ALL USING (tenant_id = (SELECT current_tenant()))
    WITH CHECK (tenant_id = (SELECT current_tenant()));
ALTER FUNCTION current_tenant() OWNER TO app_owner;
ALTER TABLE perf OWNER TO app_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON perf TO app_tenant;
"""


def _explain(sql: str) -> Query[Any]:
    text = f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}"
    return Query(
        name="Explain",
        command=Command.ONE,
        sql=text,
        data_api_sql=text,
        from_record=lambda r: r[0],
    )


EXPLAINS = {
    "count": _explain("SELECT count(*) FROM perf"),
    "latest50": _explain("SELECT id FROM perf ORDER BY created_at DESC LIMIT 50"),
}


async def _grow(dsn: str, total: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        have = await conn.fetchval("SELECT count(*) FROM perf WHERE tenant_id <> $1", SMALL)
        await conn.execute(
            """INSERT INTO perf (tenant_id, id, created_at, payload)
               SELECT ('00000000-0000-4000-8000-' || lpad((g % 1000)::text, 12, '0'))::uuid,
                      g, now() - (g || ' seconds')::interval, repeat('x', 40)
               FROM generate_series($1::bigint + 1, $2::bigint) g""",
            have,
            total,
        )
        await conn.execute("VACUUM ANALYZE perf")
    finally:
        await conn.close()


async def _buffers(db: Database) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ctx = TenantContext(tenant_id=SMALL)
    for name, query in EXPLAINS.items():
        buffers: list[int] = []
        plan: dict[str, Any] = {}
        for _ in range(5):
            async with db.tenant(ctx, readonly=True) as tx:
                doc = await tx.one(query, ())
            assert doc is not None
            plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]["Plan"]
            buffers.append(plan["Shared Hit Blocks"] + plan["Shared Read Blocks"])
        text = json.dumps(plan)
        out[name] = {
            "buffers": statistics.median(buffers),
            "index_cond_on_tenant": "Index Cond" in text and "tenant_id" in text,
            "seq_scan": "Seq Scan" in text,
        }
    return out


async def run(env: Env, progress: Progress) -> dict[str, Any]:
    sizes = env.cfg.flat_sizes
    local = await env.pg.create_database("bench_flat")
    try:
        boot = await asyncpg.connect(local.superuser_dsn)
        try:
            await boot.execute(SCHEMA)
            await boot.execute(
                "INSERT INTO perf SELECT $1, g, now() - (g || ' minutes')::interval, 'small'"
                " FROM generate_series(1, $2) g",
                SMALL,
                SMALL_ROWS,
            )
        finally:
            await boot.close()
        options = PoolOptions(min_size=1, max_size=1)
        by_size: dict[str, Any] = {}
        async with Database(tenant=local.tenant_dsn, pool=options) as db:
            for total in sizes:
                await _grow(local.admin_dsn, total)
                by_size[str(total)] = await _buffers(db)
                progress.advance()
    finally:
        await env.pg.drop_database("bench_flat")
    first, last = by_size[str(sizes[0])], by_size[str(sizes[-1])]
    growth = {n: last[n]["buffers"] / max(first[n]["buffers"], 1) for n in EXPLAINS}
    return {
        "small_tenant_rows": SMALL_ROWS,
        "other_rows": list(sizes),
        "explain": by_size,
        "buffer_growth": growth,
        "max_buffer_growth": max(growth.values()),
        "no_seq_scan": not any(v[n]["seq_scan"] for v in by_size.values() for n in EXPLAINS),
    }
