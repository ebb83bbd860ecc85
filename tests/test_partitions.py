"""activity_log partitioned by month (issue 14 part 4): RLS through the parent, partitions
attacked by name, the doctor's partition check, retention, and flat per-tenant cost.

The tenant role is the real ``app_tenant`` on the migrated hospitality schema; attacks run in
transactions that are rolled back.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fix_schema import TenantSet

from tenantdb.admin import audit
from tenantdb.local import LocalDatabase
from tenantdb.migrate import up

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"
_MONTH = "to_char(date_trunc('month', now()), 'YYYY_MM')"


async def _connect(dsn: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn)


@pytest.fixture
async def tenant_conn(tenants_abc: TenantSet) -> AsyncIterator[asyncpg.Connection]:
    conn = await _connect(tenants_abc.pg.tenant_dsn)
    yield conn
    await conn.close()


async def _this_month(conn: asyncpg.Connection) -> str:
    return "activity_log_" + str(await conn.fetchval(f"SELECT {_MONTH}"))


async def _attempt(conn: asyncpg.Connection, tenant: str, user: str, sql: str) -> str:
    tr = conn.transaction()
    await tr.start()
    try:
        await conn.execute(
            "SELECT set_config('app.current_tenant_id', $1, true),"
            " set_config('app.current_user_id', $2, true)",
            tenant,
            user,
        )
        return str(await conn.execute(sql))
    except asyncpg.PostgresError as exc:
        return str(exc.sqlstate)
    finally:
        await tr.rollback()


async def test_partitions_exist_ahead_and_each_carries_the_parents_rls(
    tenants_abc: TenantSet,
) -> None:
    conn = await _connect(tenants_abc.pg.admin_dsn)
    try:
        rows = await conn.fetch(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,"
            " pg_get_userbyid(c.relowner) AS owner,"
            " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies,"
            " has_table_privilege('app_tenant', c.oid, 'SELECT,INSERT,UPDATE,DELETE') AS granted"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'public.activity_log'::regclass ORDER BY 1"
        )
        ahead = await conn.fetchval(
            "SELECT 'activity_log_' || to_char(now() + interval '12 months', 'YYYY_MM')"
        )
    finally:
        await conn.close()
    names = [r["relname"] for r in rows]
    assert "activity_log_default" in names
    assert ahead in names
    assert len(names) == 12 + 1 + 12 + 1  # a year back, this month, a year ahead, default
    for r in rows:
        assert r["relrowsecurity"] and r["relforcerowsecurity"], r["relname"]
        assert r["owner"] == "app_owner"
        assert r["policies"] == 2  # tenant_isolation and the restrictive author policy
        assert not r["granted"], r["relname"]


async def test_a_tenant_cannot_use_a_partition_by_name(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    a = tenants_abc.a
    part = await _this_month(tenant_conn)
    user = a.users[0]
    attacks = {
        f"SELECT * FROM {part}": "42501",
        f"INSERT INTO {part} (tenant_id, author_id, action) "
        f"VALUES ('{a.tenant_id}', '{user}', 'x.y')": "42501",
        f"UPDATE {part} SET action = 'x'": "42501",
        f"DELETE FROM {part}": "42501",
        f"ALTER TABLE activity_log DETACH PARTITION {part}": "42501",
        "ALTER TABLE activity_log ATTACH PARTITION activity_log_default DEFAULT": "42501",
        "CREATE TABLE public.evil PARTITION OF activity_log "
        "FOR VALUES FROM ('1990-01-01') TO ('1990-02-01')": "42501",
        f"ALTER TABLE {part} NO FORCE ROW LEVEL SECURITY": "42501",
        f"ALTER TABLE {part} DISABLE ROW LEVEL SECURITY": "42501",
    }
    for sql, expected in attacks.items():
        assert await _attempt(tenant_conn, a.tenant_id, user, sql) == expected, sql
    # Through the parent: only its own rows, in whichever partition they are.
    seen = await _attempt(
        tenant_conn, a.tenant_id, user, "SELECT 1 FROM activity_log WHERE tenant_id <> $$x$$::uuid"
    )
    assert seen in ("22P02", "SELECT 0")


async def test_a_mistaken_grant_on_a_partition_still_shows_only_own_rows(
    tenants_abc: TenantSet,
) -> None:
    """Defence in depth: the partition's own RLS holds even if someone grants it directly."""
    a, b = tenants_abc.a, tenants_abc.b
    conn = await _connect(tenants_abc.pg.superuser_dsn)
    try:
        part = await _this_month(conn)
        async with conn.transaction():
            await conn.execute(f"GRANT SELECT ON {part} TO app_tenant")
            await conn.execute("SET LOCAL ROLE app_tenant")
            await conn.execute("SELECT set_config('app.current_tenant_id', $1, true)", a.tenant_id)
            tenants = await conn.fetch(f"SELECT DISTINCT tenant_id::text AS t FROM {part}")
            seen = [r["t"] for r in tenants]
            await conn.execute("RESET ROLE")  # undo the mistake before the block commits
            await conn.execute(f"REVOKE SELECT ON {part} FROM app_tenant")
    finally:
        await conn.close()
    assert seen == [a.tenant_id]
    assert b.tenant_id not in seen


async def test_doctor_reports_a_partition_the_tenant_role_can_name(
    fresh_db: LocalDatabase,
) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    conn = await _connect(fresh_db.superuser_dsn)
    try:
        assert not [f for f in await audit.audit(conn) if "activity_log_" in f.object]
        part = await _this_month(conn)
        await conn.execute(f"GRANT SELECT, INSERT ON {part} TO app_tenant")
        await conn.execute(f"ALTER TABLE {part} NO FORCE ROW LEVEL SECURITY")
        findings = [f for f in await audit.audit(conn) if f.object == f"public.{part}"]
    finally:
        await conn.close()
    messages = " | ".join(f.message for f in findings)
    assert "name this partition of public.activity_log directly (SELECT, INSERT)" in messages
    assert "RLS is not forced" in messages
    assert all(f.code == "I-2" for f in findings)


async def test_retention_detaches_and_drops_an_old_month(fresh_db: LocalDatabase) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    conn = await _connect(fresh_db.admin_dsn)
    try:
        oldest = await conn.fetchval(
            "SELECT 'activity_log_' || to_char(now() - interval '12 months', 'YYYY_MM')"
        )
        # Not CONCURRENTLY: PostgreSQL refuses that while a default partition exists.
        await conn.execute(f"ALTER TABLE activity_log DETACH PARTITION {oldest}")
        await conn.execute(f"DROP TABLE {oldest}")
        # The monthly job recreates nothing that retention dropped unless asked to, and
        # extends the window ahead (idempotent).
        made = await conn.fetchval("SELECT app.create_activity_log_partitions(now()::date, 13)")
        count = await conn.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_log'::regclass"
        )
    finally:
        await conn.close()
    assert made == 1
    assert count == 26


async def _tenant_plan(dsn: str, tenant: str) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, BUFFERS) of a month of one tenant's activity, as the tenant role."""
    conn = await _connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_tenant_id', $1, true)", tenant)
            raw = await conn.fetchval(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM activity_log"
                " WHERE created_at >= date_trunc('month', now())"
                " AND created_at < date_trunc('month', now()) + interval '1 month'"
                " ORDER BY created_at DESC LIMIT 20"
            )
    finally:
        await conn.close()
    plan: dict[str, Any] = json.loads(raw)[0]["Plan"]
    return plan


def _scanned(plan: dict[str, Any]) -> set[str]:
    found = {plan["Relation Name"]} if "Relation Name" in plan else set()
    for child in plan.get("Plans", []):
        found |= _scanned(child)
    return found


def _buffers(plan: dict[str, Any]) -> int:
    return int(plan["Shared Hit Blocks"]) + int(plan["Shared Read Blocks"])


async def _add_tenant(conn: asyncpg.Connection, rows: int, months_back: int) -> tuple[str, str]:
    tenant, user = str(uuid.uuid4()), str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO tenants (id, slug, name) VALUES ($1, $2, 'T')", tenant, f"t-{tenant[:8]}"
    )
    await conn.execute(
        "INSERT INTO users (tenant_id, id, email, display_name) VALUES ($1, $2, $3, 'U')",
        tenant,
        user,
        f"{user[:8]}@example.com",
    )
    await conn.execute(
        "INSERT INTO activity_log (tenant_id, author_id, action, created_at)"
        " SELECT $1, $2, 'booking.created',"
        "  date_trunc('month', now()) - make_interval(months => g % ($4 + 1))"
        "  + make_interval(secs => g) FROM generate_series(1, $3) g",
        tenant,
        user,
        rows,
        months_back,
    )
    return tenant, user


async def test_per_tenant_cost_stays_flat_as_partitions_and_other_tenants_grow(
    fresh_db: LocalDatabase,
) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    admin = await _connect(fresh_db.admin_dsn)
    try:
        tenant, _ = await _add_tenant(admin, 40, 0)
        await admin.execute("ANALYZE activity_log")
        before = await _tenant_plan(fresh_db.tenant_dsn, tenant)
        await admin.execute("SELECT app.create_activity_log_partitions(now()::date - 1100, 12)")
        for _ in range(20):  # 20 other tenants x 5,000 rows over this month and 3 years back
            await _add_tenant(admin, 5_000, 36)
        await admin.execute("ANALYZE activity_log")
        partitions = await admin.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'activity_log'::regclass"
        )
        after = await _tenant_plan(fresh_db.tenant_dsn, tenant)
    finally:
        await admin.close()
    assert partitions >= 36 + 1 + 12 + 1  # three years back, this month, a year ahead, default
    assert _scanned(before) == _scanned(after)  # pruning: this month and the default
    assert len(_scanned(after)) <= 2, _scanned(after)
    assert before["Actual Rows"] == after["Actual Rows"] == 20
    # 100,000 other rows: at most one more index level to descend per scanned partition.
    assert _buffers(after) <= _buffers(before) + 2 * len(_scanned(after)), (before, after)
