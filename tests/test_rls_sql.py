"""RLS of the example schema, proven in SQL through the tenant role (RLS.md §5 I-8…I-11).

Raw asyncpg connections as ``app_tenant``; each tenant transaction is
``BEGIN; SELECT set_config('app.current_tenant_id', $1, true); …``. Every write attempt runs
in a transaction that is rolled back, so the shared fixture rows never change.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import asyncpg
import pytest
from fix_schema import (
    FIXTURE_COUNTS,
    SCHEMA_DIR,
    TENANT_A,
    TENANT_B,
    TENANT_C,
    TENANT_TABLES,
    TenantRows,
    TenantSet,
)

from tenantdb.local import LocalDatabase
from tenantdb.migrate import up

# The tenants table is protected on id, every other table on tenant_id.
_KEY = dict.fromkeys(TENANT_TABLES, "tenant_id") | {"tenants": "id"}


@pytest.fixture(params=["fresh", "reused"])
async def tenant_conn(
    request: pytest.FixtureRequest, tenants_abc: TenantSet
) -> AsyncIterator[asyncpg.Connection]:
    """A tenant-role connection: brand new, or one that just served tenant B (committed), as
    a pooled connection would be (RLS.md §5: run the suite both ways)."""
    conn = await asyncpg.connect(tenants_abc.pg.tenant_dsn)
    if request.param == "reused":
        async with conn.transaction():
            await _set_context(conn, TENANT_B, tenants_abc.b.users[0])
            assert (
                await conn.fetchval("SELECT count(*) FROM bookings") == FIXTURE_COUNTS["bookings"]
            )
    yield conn
    await conn.close()


@pytest.fixture
async def admin_conn(tenants_abc: TenantSet) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(tenants_abc.pg.admin_dsn)
    yield conn
    await conn.close()


async def _set_context(conn: asyncpg.Connection, tenant: str, user: str | None = None) -> None:
    await conn.execute(
        "SELECT set_config('app.current_tenant_id', $1, true),"
        " set_config('app.current_user_id', $2, true)",
        tenant,
        user or "",
    )


async def _attempt(
    conn: asyncpg.Connection, tenant: str, sql: str, *args: Any, user: str | None = None
) -> str:
    """Run ``sql`` in tx(tenant), always rolled back; the command tag, or the SQLSTATE."""
    tr = conn.transaction()
    await tr.start()
    try:
        await _set_context(conn, tenant, user)
        return str(await conn.execute(sql, *args))
    except asyncpg.PostgresError as exc:
        return str(exc.sqlstate)
    finally:
        await tr.rollback()


async def _count(conn: asyncpg.Connection, tenant: str, sql: str) -> int:
    async with conn.transaction():
        await _set_context(conn, tenant)
        return int(await conn.fetchval(sql))


async def _fingerprint(admin: asyncpg.Connection, tenant: str) -> dict[str, str]:
    """md5 of each table's rows of ``tenant``, read as admin (bypasses RLS)."""
    out = {}
    for table, key in _KEY.items():
        out[table] = await admin.fetchval(
            f"SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), ''))"
            f" FROM {table} t WHERE {key} = $1",
            tenant,
        )
    return out


def _new_row(
    table: str, owner: TenantRows, *, tenant_id: str, reuse_id: bool
) -> tuple[str, list[Any]]:
    """Columns and values for an insert into ``table`` claiming ``tenant_id``, referencing
    ``owner``'s parents; ``reuse_id`` takes ``owner``'s first id (to hit its key)."""
    rid = getattr(owner, table)[0] if reuse_id else "00000000-0000-4000-8000-0000000000ff"
    values: dict[str, list[Any]] = {
        "users": ["email, display_name", "mallory@example.com", "Mallory"],
        "properties": ["code, name", "EVIL", "Evil Inn"],
        "rooms": ["property_id, number, nightly_rate", owner.properties[0], "666", 1],
        "guests": ["full_name", "Mallory"],
        "bookings": [
            "reference, property_id, room_id, guest_id, check_in, check_out",
            "BK-EVIL",
            owner.properties[0],
            owner.rooms[0],
            owner.guests[0],
            date(2026, 1, 1),
            date(2026, 1, 2),
        ],
        "activity_log": ["author_id, action", owner.users[0], "evil.act"],
    }
    cols, *vals = values[table]
    params = [tenant_id, rid, *vals]
    placeholders = ", ".join(f"${i}" for i in range(1, len(params) + 1))
    return f"INSERT INTO {table} (tenant_id, id, {cols}) VALUES ({placeholders})", params


# -- read isolation ---------------------------------------------------------------------------
@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_tenant_reads_only_its_own_rows(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet, table: str
) -> None:
    for tenant in (TENANT_A, TENANT_B):
        assert (
            await _count(tenant_conn, tenant, f"SELECT count(*) FROM {table}")
            == FIXTURE_COUNTS[table]
        )
        foreign = f"SELECT count(*) FROM {table} WHERE tenant_id <> '{tenant}'"
        assert await _count(tenant_conn, tenant, foreign) == 0
    assert await _count(tenant_conn, TENANT_C, f"SELECT count(*) FROM {table}") == 0


async def test_tenant_sees_only_its_own_tenants_row(tenant_conn: asyncpg.Connection) -> None:
    async with tenant_conn.transaction():
        await _set_context(tenant_conn, TENANT_A)
        ids = [str(r["id"]) for r in await tenant_conn.fetch("SELECT id FROM tenants")]
    assert ids == [TENANT_A]
    tag = await _attempt(
        tenant_conn, TENANT_A, "UPDATE tenants SET name = 'x' WHERE id = $1", TENANT_B
    )
    assert tag == "UPDATE 0"
    assert await _attempt(tenant_conn, TENANT_A, "UPDATE tenants SET id = $1", TENANT_B) == "42501"
    assert await _attempt(tenant_conn, TENANT_A, "DELETE FROM tenants") == "42501"  # no grant
    rename = "UPDATE tenants SET name = 'A renamed', settings = '{}'"
    assert await _attempt(tenant_conn, TENANT_A, rename) == "UPDATE 1"
    # Slugs are globally unique: changing one would probe other tenants' slugs.
    assert await _attempt(tenant_conn, TENANT_A, "UPDATE tenants SET slug = 'tenant-b'") == "42501"


# -- write isolation --------------------------------------------------------------------------
@pytest.mark.parametrize("table", TENANT_TABLES)
async def test_cross_tenant_writes_are_refused_and_b_is_untouched(
    tenant_conn: asyncpg.Connection,
    admin_conn: asyncpg.Connection,
    tenants_abc: TenantSet,
    table: str,
) -> None:
    a, b = tenants_abc.a, tenants_abc.b
    before = await _fingerprint(admin_conn, TENANT_B)
    insert_sql, args = _new_row(table, b, tenant_id=TENANT_B, reuse_id=False)
    assert await _attempt(tenant_conn, TENANT_A, insert_sql, *args, user=a.users[0]) == "42501"
    move = f"UPDATE {table} SET tenant_id = $1"
    assert await _attempt(tenant_conn, TENANT_A, move, TENANT_B) in ("42501", "UPDATE 0")
    touch = f"UPDATE {table} SET tenant_id = tenant_id WHERE id = $1"
    assert await _attempt(tenant_conn, TENANT_A, touch, getattr(b, table)[0]) in (
        "42501",
        "UPDATE 0",
    )
    delete = f"DELETE FROM {table} WHERE id = $1"
    assert await _attempt(tenant_conn, TENANT_A, delete, getattr(b, table)[0]) in (
        "42501",
        "DELETE 0",
    )
    upsert_sql, args = _new_row(table, b, tenant_id=TENANT_B, reuse_id=True)
    key = "tenant_id, created_at, id" if table == "activity_log" else "tenant_id, id"  # partitioned
    upsert = f"{upsert_sql} ON CONFLICT ({key}) DO UPDATE SET tenant_id = EXCLUDED.tenant_id"
    assert await _attempt(tenant_conn, TENANT_A, upsert, *args, user=a.users[0]) == "42501"
    assert await _fingerprint(admin_conn, TENANT_B) == before


@pytest.mark.parametrize("table", ["users", "properties", "rooms", "guests", "bookings"])
async def test_moving_own_rows_to_another_tenant_is_refused(
    tenant_conn: asyncpg.Connection, table: str
) -> None:
    # Without a WHERE the UPDATE reads no column: only WITH CHECK stands between A and B.
    assert (
        await _attempt(tenant_conn, TENANT_A, f"UPDATE {table} SET tenant_id = $1", TENANT_B)
        == "42501"
    )


async def test_upsert_on_own_tenant_with_b_key_creates_an_a_row(
    tenant_conn: asyncpg.Connection, admin_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    # A's "conflict" target is (A, B's id): keys are tenant-scoped, so B's row is not hit.
    before = await _fingerprint(admin_conn, TENANT_B)
    sql = (
        "INSERT INTO properties (tenant_id, id, code, name) VALUES ($1, $2, 'HQ2', 'x')"
        " ON CONFLICT (tenant_id, id) DO UPDATE SET name = 'pwned'"
    )
    assert (
        await _attempt(tenant_conn, TENANT_A, sql, TENANT_A, tenants_abc.b.properties[0])
        == "INSERT 0 1"
    )
    assert await _fingerprint(admin_conn, TENANT_B) == before


async def test_natural_keys_are_tenant_scoped(admin_conn: asyncpg.Connection) -> None:
    rows = await admin_conn.fetch(
        "SELECT code, count(DISTINCT tenant_id) AS n FROM properties"
        " WHERE tenant_id = ANY($1::uuid[]) GROUP BY code ORDER BY code",
        [TENANT_A, TENANT_B],
    )
    assert [(r["code"], r["n"]) for r in rows] == [("BEACH", 2), ("HQ", 2)]


# -- no context -------------------------------------------------------------------------------
@pytest.mark.parametrize("table", [*TENANT_TABLES, "tenants"])
async def test_without_context_nothing_is_visible(tenants_abc: TenantSet, table: str) -> None:
    conn = await asyncpg.connect(tenants_abc.pg.tenant_dsn)
    try:
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0  # fresh backend: NULL
        async with conn.transaction():
            await _set_context(conn, TENANT_A)
        # The same backend now returns '' for the setting: still nothing.
        assert await conn.fetchval("SELECT current_setting('app.current_tenant_id', true)") == ""
        assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
        assert await _count(conn, "", f"SELECT count(*) FROM {table}") == 0
    finally:
        await conn.close()


async def test_autocommit_set_config_does_not_leak_into_the_next_statement(
    tenant_conn: asyncpg.Connection,
) -> None:
    await tenant_conn.execute("SELECT set_config('app.current_tenant_id', $1, true)", TENANT_A)
    assert await tenant_conn.fetchval("SELECT count(*) FROM bookings") == 0


async def test_without_context_nothing_can_be_written(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    sql, args = _new_row("properties", tenants_abc.a, tenant_id=TENANT_A, reuse_id=False)
    assert await _attempt(tenant_conn, "", sql, *args) == "42501"
    assert await _attempt(tenant_conn, "", "DELETE FROM properties") == "DELETE 0"


async def test_garbage_context_fails_closed(tenant_conn: asyncpg.Connection) -> None:
    for value in ("not-a-uuid", f"{TENANT_A}'; SET app.current_tenant_id = '{TENANT_B}"):
        assert await _attempt(tenant_conn, value, "SELECT count(*) FROM bookings") == "22P02"


# -- keys and cascades ------------------------------------------------------------------------
async def test_child_pointing_at_another_tenants_parent_is_refused(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    sql, args = _new_row("rooms", tenants_abc.b, tenant_id=TENANT_A, reuse_id=False)
    assert await _attempt(tenant_conn, TENANT_A, sql, *args) == "23503"
    sql, args = _new_row("bookings", tenants_abc.b, tenant_id=TENANT_A, reuse_id=False)
    assert await _attempt(tenant_conn, TENANT_A, sql, *args) == "23503"


async def test_deleting_own_parents_cascades_inside_the_tenant_only(
    tenant_conn: asyncpg.Connection, admin_conn: asyncpg.Connection
) -> None:
    before = await _fingerprint(admin_conn, TENANT_B)
    tr = tenant_conn.transaction()
    await tr.start()
    try:
        await _set_context(tenant_conn, TENANT_A)
        assert await tenant_conn.execute("DELETE FROM bookings") == "DELETE 2"
        assert await tenant_conn.execute("DELETE FROM properties") == "DELETE 2"
        assert await tenant_conn.fetchval("SELECT count(*) FROM rooms") == 0  # cascaded
    finally:
        await tr.rollback()
    assert await _fingerprint(admin_conn, TENANT_B) == before


# -- the per-user rule ------------------------------------------------------------------------
async def test_activity_log_rows_are_written_only_as_the_current_user(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    owner, desk = tenants_abc.a.users
    sql = "INSERT INTO activity_log (tenant_id, author_id, action) VALUES ($1, $2, 'room.cleaned')"
    assert await _attempt(tenant_conn, TENANT_A, sql, TENANT_A, owner, user=owner) == "INSERT 0 1"
    assert await _attempt(tenant_conn, TENANT_A, sql, TENANT_A, desk, user=owner) == "42501"
    assert await _attempt(tenant_conn, TENANT_A, sql, TENANT_A, owner) == "42501"  # no user
    # Append-only: the tenant role has no UPDATE or DELETE on the log.
    assert await _attempt(tenant_conn, TENANT_A, "DELETE FROM activity_log", user=owner) == "42501"
    assert (
        await _attempt(tenant_conn, TENANT_A, "UPDATE activity_log SET action = 'x'", user=owner)
        == "42501"
    )


# -- what the tenant role can never do --------------------------------------------------------
@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE bookings",
        "ALTER TABLE bookings DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE bookings NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON bookings",
        "CREATE TABLE public.planted (id int)",
        "CREATE TABLE app.planted (id int)",
        "CREATE SCHEMA planted",
        "CREATE FUNCTION public.peek() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "SET ROLE app_owner",
        "SET ROLE app_admin",
        "SELECT * FROM tenantdb_migrations",
        "CREATE TRIGGER t BEFORE INSERT ON bookings"
        " FOR EACH ROW EXECUTE FUNCTION app.touch_updated_at()",
    ],
)
async def test_tenant_role_cannot_escalate(tenant_conn: asyncpg.Connection, sql: str) -> None:
    assert await _attempt(tenant_conn, TENANT_A, sql) == "42501"


async def test_row_security_off_fails_closed(tenant_conn: asyncpg.Connection) -> None:
    tag = await _attempt(
        tenant_conn, TENANT_A, "SET LOCAL row_security = off; SELECT 1 FROM bookings"
    )
    assert tag == "42501"


async def test_admin_sees_every_tenant(admin_conn: asyncpg.Connection) -> None:
    for table in TENANT_TABLES:
        n = await admin_conn.fetchval(
            f"SELECT count(*) FROM {table} WHERE tenant_id = ANY($1::uuid[])",
            [TENANT_A, TENANT_B],
        )
        assert n == 2 * FIXTURE_COUNTS[table]
        assert await admin_conn.fetchval("SELECT row_security_active($1::regclass)", table) is False


async def test_rls_is_active_for_the_tenant_role(tenant_conn: asyncpg.Connection) -> None:
    for table in (*TENANT_TABLES, "tenants"):
        assert await tenant_conn.fetchval("SELECT row_security_active($1::regclass)", table) is True


# -- the catalog: helper, policies, grants ------------------------------------------------------
_HELPER_CALL = "( SELECT app.current_tenant_id() AS current_tenant_id)"


async def test_context_helpers_are_stable_and_map_empty_to_null(
    admin_conn: asyncpg.Connection,
) -> None:
    # IMMUTABLE would be constant-folded into cached plans; VOLATILE would run per row.
    rows = await admin_conn.fetch(
        "SELECT proname, provolatile::text AS v FROM pg_proc"
        " WHERE pronamespace = 'app'::regnamespace AND proname LIKE 'current_%' ORDER BY 1"
    )
    assert [(r["proname"], r["v"]) for r in rows] == [
        ("current_tenant_id", "s"),
        ("current_user_id", "s"),
    ]
    # Unset (fresh backend) and '' (left behind by an earlier SET LOCAL) both read as NULL.
    assert await admin_conn.fetchval("SELECT app.current_tenant_id()") is None
    async with admin_conn.transaction():
        await admin_conn.execute("SELECT set_config('app.current_tenant_id', '', true)")
        assert await admin_conn.fetchval("SELECT app.current_tenant_id()") is None


@pytest.mark.parametrize("table", [*TENANT_TABLES, "tenants"])
async def test_each_table_has_one_forced_for_all_policy_through_the_wrapped_helper(
    admin_conn: asyncpg.Connection, table: str
) -> None:
    flags = await admin_conn.fetchrow(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = $1::regclass",
        table,
    )
    assert flags is not None and tuple(flags) == (True, True)
    rows = await admin_conn.fetch(
        "SELECT roles, qual, with_check FROM pg_policies"
        " WHERE schemaname = 'public' AND tablename = $1 AND permissive = 'PERMISSIVE'",
        table,
    )
    predicate = f"({_KEY[table]} = {_HELPER_CALL})"
    # (SELECT helper()) is an InitPlan: evaluated once per query, not once per row.
    assert [(r["roles"], r["qual"], r["with_check"]) for r in rows] == [
        (["app_tenant"], predicate, predicate)
    ]
    cmd = await admin_conn.fetchval(
        "SELECT cmd FROM pg_policies WHERE tablename = $1 AND permissive = 'PERMISSIVE'", table
    )
    assert cmd == "ALL"


async def test_every_index_of_a_tenant_table_leads_with_tenant_id(
    admin_conn: asyncpg.Connection,
) -> None:
    rows = await admin_conn.fetch(
        "SELECT i.indexrelid::regclass::text AS idx, a.attname AS lead"
        " FROM pg_index i JOIN pg_attribute a"
        "  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
        " WHERE i.indrelid = ANY($1::regclass[]) ORDER BY 1",
        list(TENANT_TABLES),
    )
    assert len(rows) >= 2 * len(TENANT_TABLES)  # the primary keys and more
    assert {r["idx"]: r["lead"] for r in rows if r["lead"] != "tenant_id"} == {}


async def test_the_helper_runs_once_per_query(tenant_conn: asyncpg.Connection) -> None:
    async with tenant_conn.transaction():
        await _set_context(tenant_conn, TENANT_A)
        plan = await tenant_conn.fetchval("EXPLAIN (FORMAT JSON) SELECT id FROM bookings")
    nodes = _scans(json.loads(plan)[0]["Plan"])
    assert [n.get("Subplan Name", "") for n in nodes if n.get("Parent Relationship") == "InitPlan"]


async def test_tenant_role_has_dml_grants_only(admin_conn: asyncpg.Connection) -> None:
    privileges = (
        *("SELECT", "INSERT", "UPDATE", "DELETE"),
        *("TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN"),  # MAINTAIN: PostgreSQL >= 17
    )
    rows = await admin_conn.fetch(
        "SELECT c.relname, p AS privilege FROM pg_class c, unnest($1::text[]) AS p"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')"
        " AND has_table_privilege('app_tenant', c.oid, p) ORDER BY 1, 2",
        list(privileges),
    )
    granted: dict[str, set[str]] = {}
    for r in rows:
        granted.setdefault(r["relname"], set()).add(r["privilege"])
    dml = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert granted == {
        **dict.fromkeys(("users", "properties", "rooms", "guests", "bookings"), dml),
        "activity_log": {"SELECT", "INSERT"},  # append-only
        "tenants": {"SELECT"},  # plus column-level UPDATE, checked next
    }
    column_updates = await admin_conn.fetchval(
        "SELECT array_agg(attname ORDER BY attname) FROM pg_attribute"
        " WHERE attrelid = 'tenants'::regclass AND attnum > 0"
        " AND has_column_privilege('app_tenant', attrelid, attnum, 'UPDATE')"
    )
    assert column_updates == ["name", "settings"]
    creatable = await admin_conn.fetchval(
        "SELECT count(*) FROM pg_namespace WHERE has_schema_privilege('app_tenant', oid, 'CREATE')"
    )
    assert creatable == 0
    assert (
        await admin_conn.fetchval(
            "SELECT has_database_privilege('app_tenant', current_database(), 'CREATE')"
        )
        is False
    )
    assert (
        await admin_conn.fetchval(
            "SELECT rolbypassrls OR rolsuper OR rolcreaterole OR rolcreatedb OR rolinherit"
            " FROM pg_roles WHERE rolname = 'app_tenant'"
        )
        is False
    )


# -- cached plans, audit columns, full-text search --------------------------------------------
@pytest.mark.parametrize("plan_cache_mode", ["auto", "force_generic_plan"])
async def test_cached_plans_never_serve_another_tenant(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet, plan_cache_mode: str
) -> None:
    stmt_plain = "SELECT array_agg(DISTINCT tenant_id::text) FROM bookings"
    stmt_param = (
        "SELECT array_agg(DISTINCT tenant_id::text) FROM bookings WHERE check_in > $1::date"
    )
    for i in range(12):  # the 6th execution is the first generic plan under "auto"
        tenant = (TENANT_A, TENANT_B)[i % 2]
        async with tenant_conn.transaction():
            await _set_context(tenant_conn, tenant)
            await tenant_conn.execute(f"SET LOCAL plan_cache_mode = {plan_cache_mode}")
            assert await tenant_conn.fetchval(stmt_plain) == [tenant]
            assert await tenant_conn.fetchval(stmt_param, date(2000, 1, 1)) == [tenant]


async def test_updated_at_is_maintained_and_created_at_is_immutable(
    tenant_conn: asyncpg.Connection, tenants_abc: TenantSet
) -> None:
    tr = tenant_conn.transaction()
    await tr.start()
    try:
        await _set_context(tenant_conn, TENANT_A)
        old = await tenant_conn.fetchrow(
            "SELECT created_at, updated_at FROM properties WHERE id = $1",
            tenants_abc.a.properties[0],
        )
        new = await tenant_conn.fetchrow(
            "UPDATE properties SET name = 'Renamed', created_at = '2000-01-01'"
            " WHERE id = $1 RETURNING created_at, updated_at, now() AS now",
            tenants_abc.a.properties[0],
        )
    finally:
        await tr.rollback()
    assert new is not None and old is not None
    assert new["created_at"] == old["created_at"]
    assert new["updated_at"] == new["now"] > old["updated_at"]


def _scans(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes.extend(_scans(child))
    return nodes


async def _load_many_guests(db: LocalDatabase, tenants: int, per_tenant: int) -> list[str]:
    await up(db.admin_dsn, SCHEMA_DIR)
    ids = [str(uuid.UUID(int=n + 1)) for n in range(tenants)]
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        await conn.set_builtin_type_codec("citext", schema="public", codec_name="text")
        await conn.copy_records_to_table(
            "tenants",
            records=[(t, f"t-{n:03d}", f"T{n}") for n, t in enumerate(ids)],
            columns=["id", "slug", "name"],
        )
        await conn.copy_records_to_table(
            "guests",
            records=[
                (uuid.UUID(t), f"guest{i} family{i % 97}", f"g{i}@example.com")
                for t in ids
                for i in range(per_tenant)
            ],
            columns=["tenant_id", "full_name", "email"],
        )
        await conn.execute("VACUUM ANALYZE guests")  # flush the GIN pending list
    finally:
        await conn.close()
    return ids


async def _plan(conn: asyncpg.Connection, sql: str, *args: Any) -> list[dict[str, Any]]:
    raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return _scans(json.loads(raw)[0]["Plan"])


async def test_guest_search_plans_lead_with_tenant_id(fresh_db: LocalDatabase) -> None:
    tenant, *_ = await _load_many_guests(fresh_db, tenants=20, per_tenant=1000)
    search = "SELECT id FROM guests WHERE search @@ websearch_to_tsquery('simple', $1)"
    conn = await asyncpg.connect(fresh_db.tenant_dsn)
    try:
        async with conn.transaction():
            await _set_context(conn, tenant)
            nodes = await _plan(conn, search, "family7")
            hits = len(await conn.fetch(search, "family7"))
    finally:
        await conn.close()
    # Under RLS `@@` (not LEAKPROOF) stays a Filter after the tenant predicate; the scan is
    # bounded by the tenant's rows through a tenant-leading index, never a Seq Scan.
    assert "Seq Scan" not in {n["Node Type"] for n in nodes}, nodes
    conds = [n.get("Index Cond", "") for n in nodes]
    assert any(c.startswith("(tenant_id = ") for c in conds), nodes
    # ...and with fresh statistics the planner picks the btree_gin index for it.
    assert "guests_tenant_search_idx" in {n.get("Index Name") for n in nodes}, nodes
    assert hits == len([i for i in range(1000) if i % 97 == 7])
    # Admin lane with an explicit tenant: both conditions are index conditions on the
    # btree_gin (tenant_id, search) index.
    admin = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        nodes = await _plan(
            admin, search.replace("WHERE", "WHERE tenant_id = $2 AND"), "family7", tenant
        )
    finally:
        await admin.close()
    gin = [n for n in nodes if n.get("Index Name") == "guests_tenant_search_idx"]
    assert gin, nodes
    assert "tenant_id = " in gin[0]["Index Cond"] and "search @@ " in gin[0]["Index Cond"]
