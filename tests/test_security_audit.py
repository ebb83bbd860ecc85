"""Security review: ``tenantdb doctor`` false negatives (RLS.md sections 2.4 to 2.6, I-3, I-5, I-6).

Each test breaks a migrated database the way a hurried migration might and expects the audit
to name the problem: a tautology hidden in a policy, a permissive policy whose "restrictive
twin" does not repeat the tenant predicate, a reviewed SECURITY DEFINER function owned by a role
that bypasses RLS, a definer view, and a tenant role that may create temporary tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from fix_schema import SCHEMA_DIR

from tenantdb.audit import Finding, audit
from tenantdb.local import LocalDatabase
from tenantdb.migrate import up

_DOCS = """
SET ROLE app_owner;
CREATE TABLE sec_docs (tenant_id uuid NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
ALTER TABLE sec_docs ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_docs TO app_tenant;
RESET ROLE;
INSERT INTO sec_docs VALUES ('3f2504e0-4f89-11d3-9a0c-0305e82c3301', 1);
"""
_TENANT = "(tenant_id = (SELECT app.current_tenant_id()))"


@pytest.fixture
async def migrated_db(fresh_db: LocalDatabase) -> LocalDatabase:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    return fresh_db


@pytest.fixture
async def su(migrated_db: LocalDatabase) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(migrated_db.superuser_dsn)
    yield conn
    await conn.close()


async def _audit(db: LocalDatabase, **kwargs: object) -> list[Finding]:
    conn = await asyncpg.connect(db.admin_dsn)
    tenant = await asyncpg.connect(db.tenant_dsn)
    try:
        return await audit(conn, tenant_conn=tenant, **kwargs)  # type: ignore[arg-type]
    finally:
        await tenant.close()
        await conn.close()


def _about(findings: list[Finding], obj: str) -> list[Finding]:
    return [f for f in findings if obj in f.object]


async def test_clean_docs_table_has_no_finding(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(_DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING {_TENANT};")
    assert await _audit(migrated_db) == []


@pytest.mark.parametrize(
    "tautology",
    [
        "OR true",
        "OR 1 = 1",
        "OR tenant_id IS NOT NULL",
        "OR current_user = 'app_tenant'",
        "OR (SELECT app.current_tenant_id()) IS NULL",
        "OR id > 0",
    ],
)
async def test_policy_true_beyond_the_tenant_is_found(
    migrated_db: LocalDatabase, su: asyncpg.Connection, tautology: str
) -> None:
    """Static patterns catch some; a probe as the tenant role (a tenant that owns no row, and
    no tenant at all) catches the rest whenever the table holds a row."""
    await su.execute(_DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING ({_TENANT} {tautology});")
    found = _about(await _audit(migrated_db), "sec_docs")
    assert found, tautology
    assert {f.code for f in found} == {"I-3"}


async def test_second_permissive_policy_without_restrictive_twin(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        _DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING {_TENANT};"
        "CREATE POLICY public_read ON sec_docs FOR SELECT USING (id < 100);"
    )
    found = _about(await _audit(migrated_db), "sec_docs")
    assert any("permissive policies are ORed" in f.message for f in found)


@pytest.mark.parametrize(
    "twin",
    [
        "AS RESTRICTIVE FOR ALL USING (tenant_id IS NOT NULL)",
        f"AS RESTRICTIVE FOR ALL USING ({_TENANT} OR id < 100)",
        f"AS RESTRICTIVE FOR SELECT USING {_TENANT}",
    ],
    ids=["mentions-column", "ored", "select-only"],
)
async def test_restrictive_twin_must_repeat_the_tenant_predicate(
    migrated_db: LocalDatabase, su: asyncpg.Connection, twin: str
) -> None:
    await su.execute(
        _DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING {_TENANT};"
        "CREATE POLICY public_read ON sec_docs FOR SELECT USING (id < 100);"
        f"CREATE POLICY guard ON sec_docs {twin};"
    )
    found = _about(await _audit(migrated_db), "sec_docs")
    assert any("permissive policies are ORed" in f.message for f in found), found


async def test_a_real_restrictive_twin_is_accepted(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        _DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING {_TENANT};"
        "CREATE POLICY public_read ON sec_docs FOR SELECT USING (id < 100);"
        f"CREATE POLICY guard ON sec_docs AS RESTRICTIVE FOR ALL USING {_TENANT}"
        f" WITH CHECK {_TENANT};"
    )
    assert await _audit(migrated_db) == []


async def test_allowlisted_definer_owned_by_a_bypassing_role_is_found(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    """Reviewed and search_path pinned, but its owner (superuser / BYPASSRLS) sees every row."""
    await su.execute(
        "CREATE ROLE sec_bypass NOLOGIN BYPASSRLS;"
        "GRANT USAGE ON SCHEMA app TO sec_bypass; GRANT SELECT ON bookings TO sec_bypass;"
        "CREATE FUNCTION app.count_all() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
        " SET search_path = pg_catalog, pg_temp AS 'SELECT count(*) FROM public.bookings';"
        "ALTER FUNCTION app.count_all() OWNER TO sec_bypass;"
        "CREATE FUNCTION app.count_su() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
        " SET search_path = pg_catalog, pg_temp AS 'SELECT count(*) FROM public.bookings';"
    )
    found = await _audit(migrated_db, definer_allowlist={"app.count_all", "app.count_su"})
    assert {f.object for f in found} == {"app.count_all()", "app.count_su()"}
    assert all("bypasses RLS" in f.message for f in found)


async def test_definer_view_over_a_tenant_table_is_found(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        _DOCS + f"CREATE POLICY p ON sec_docs FOR ALL USING {_TENANT};"
        "CREATE VIEW sec_docs_v AS SELECT * FROM sec_docs;"  # owned by the superuser
        "GRANT SELECT ON sec_docs_v TO app_tenant;"
    )
    found = _about(await _audit(migrated_db), "sec_docs_v")
    assert [f.code for f in found] == ["I-6"]
    assert "security_invoker" in found[0].message


async def test_temporary_privilege_of_the_tenant_role_is_found(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(f'GRANT TEMPORARY ON DATABASE "{migrated_db.name}" TO PUBLIC')
    (f,) = await _audit(migrated_db)
    assert f.code == "I-5"
    assert "temporary" in f.message
    assert f.fix.startswith("REVOKE TEMPORARY ON DATABASE")
