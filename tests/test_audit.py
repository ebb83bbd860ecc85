"""``tenantdb.audit`` / ``tenantdb doctor``: clean on our schema, and each deliberately broken
database yields the finding that names the problem (RLS.md §5, I-1…I-7)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator

import anyio
import asyncpg
import pytest
from fix_schema import SCHEMA_DIR

from tenantdb.admin.audit_checks import version_findings
from tenantdb.audit import Finding, audit
from tenantdb.local import LocalDatabase
from tenantdb.migrate import up


@pytest.fixture
async def migrated_db(fresh_db: LocalDatabase) -> LocalDatabase:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    return fresh_db


@pytest.fixture
async def su(migrated_db: LocalDatabase) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection for breaking things (objects owned by app_owner)."""
    conn = await asyncpg.connect(migrated_db.superuser_dsn)
    yield conn
    await conn.close()


async def _audit(db: LocalDatabase, **kwargs: object) -> list[Finding]:
    conn = await asyncpg.connect(db.admin_dsn)
    try:
        return await audit(conn, **kwargs)  # type: ignore[arg-type]  # test passes kwargs through
    finally:
        await conn.close()


def _only(findings: list[Finding], code: str) -> list[Finding]:
    assert findings, "expected a finding"
    assert {f.code for f in findings} == {code}, findings
    return findings


def _codes(findings: list[Finding], code: str) -> list[Finding]:
    return [f for f in findings if f.code == code]


async def test_our_schema_is_clean(migrated_db: LocalDatabase) -> None:
    tenant = await asyncpg.connect(migrated_db.tenant_dsn)
    try:
        assert await _audit(migrated_db, tenant_conn=tenant) == []
    finally:
        await tenant.close()


async def test_table_with_tenant_id_but_no_rls(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "SET ROLE app_owner; CREATE TABLE invoices (tenant_id uuid NOT NULL, id uuid,"
        " PRIMARY KEY (tenant_id, id)); GRANT SELECT ON invoices TO app_tenant; RESET ROLE"
    )
    (f,) = _only(await _audit(migrated_db), "I-2")
    assert f.object == "public.invoices"
    assert "not enabled" in f.message and "not forced" in f.message and "no permissive" in f.message
    assert "ENABLE ROW LEVEL SECURITY" in f.fix and "FORCE ROW LEVEL SECURITY" in f.fix


async def test_row_security_inactive_for_tenant_connection(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute("ALTER TABLE guests DISABLE ROW LEVEL SECURITY")
    tenant = await asyncpg.connect(migrated_db.tenant_dsn)
    try:
        findings = _only(await _audit(migrated_db, tenant_conn=tenant), "I-2")
    finally:
        await tenant.close()
    assert [f.object for f in findings] == ["public.guests", "public.guests"]
    assert any("row_security_active" in f.message for f in findings)


async def test_policy_using_true(migrated_db: LocalDatabase, su: asyncpg.Connection) -> None:
    await su.execute("CREATE POLICY open_read ON properties FOR SELECT TO app_tenant USING (true)")
    findings = _only(await _audit(migrated_db), "I-3")
    messages = " | ".join(f"{f.object}: {f.message}" for f in findings)
    assert "policy open_read on public.properties: USING (true) is true for every row" in messages
    assert "2 permissive policies are ORed" in messages


async def test_policy_is_null_or_and_bare_current_setting(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "DROP POLICY tenant_isolation ON rooms;"
        "CREATE POLICY tenant_isolation ON rooms FOR ALL TO app_tenant USING ("
        " current_setting('app.current_tenant_id', true) IS NULL OR"
        " tenant_id = current_setting('app.current_tenant_id', true)::uuid)"
    )
    messages = [f.message for f in _only(await _audit(migrated_db), "I-3")]
    assert any("IS NULL OR" in m for m in messages)
    assert any("without nullif" in m for m in messages)
    assert not any("true for every row" in m for m in messages)  # current_setting(…, true) is fine


async def test_unique_index_without_tenant_id(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute("CREATE UNIQUE INDEX guests_global_email ON guests (email)")
    (f,) = _only(await _audit(migrated_db), "I-4")
    assert f.object == "guests_global_email" and "existence oracle" in f.message


async def test_foreign_key_without_tenant_id(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    # A global UNIQUE (id) is needed to reference rooms(id) alone: two findings.
    await su.execute(
        "ALTER TABLE rooms ADD CONSTRAINT rooms_id_key UNIQUE (id);"
        "ALTER TABLE bookings ADD CONSTRAINT bookings_room_only FOREIGN KEY (room_id)"
        " REFERENCES rooms (id)"
    )
    findings = _only(await _audit(migrated_db), "I-4")
    objects = sorted(f.object for f in findings)
    assert objects == ["bookings_room_only on public.bookings", "rooms_id_key"]


async def test_truncate_granted(migrated_db: LocalDatabase, su: asyncpg.Connection) -> None:
    await su.execute("GRANT TRUNCATE ON bookings TO app_tenant")
    (f,) = _only(await _audit(migrated_db), "I-5")
    assert (f.object, f.fix) == (
        "public.bookings",
        "REVOKE TRUNCATE ON public.bookings FROM app_tenant, PUBLIC;",
    )


async def test_references_granted_on_one_column(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute("GRANT REFERENCES (id) ON bookings TO app_tenant")
    (f,) = _only(await _audit(migrated_db), "I-5")
    assert (f.object, f.fix) == (
        "public.bookings",
        "REVOKE REFERENCES ON public.bookings FROM app_tenant, PUBLIC;",
    )
    await su.execute(f.fix)
    assert await _audit(migrated_db) == []


async def test_create_on_a_schema_granted(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute("GRANT CREATE ON SCHEMA app TO PUBLIC")
    (f,) = _only(await _audit(migrated_db), "I-5")
    assert f.object == "schema app" and "CREATE" in f.message


async def test_registry_without_rls_granted(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute("ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY")
    (f,) = _only(await _audit(migrated_db), "I-5")
    assert f.object == "public.tenants" and "list all tenants" in f.message


async def test_registry_without_rls_granted_by_column(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY; REVOKE ALL ON tenants FROM app_tenant;"
        " GRANT SELECT (id, slug) ON tenants TO app_tenant"
    )
    (f,) = _only(await _audit(migrated_db), "I-5")
    assert f.object == "public.tenants" and "list all tenants" in f.message


async def test_security_definer_function_without_search_path(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "CREATE FUNCTION app.count_all() RETURNS bigint LANGUAGE sql SECURITY DEFINER"
        " AS 'SELECT count(*) FROM bookings';"
        # owned by a role subject to FORCEd RLS (a superuser owner is its own finding)
        "ALTER FUNCTION app.count_all() OWNER TO app_owner"
    )
    findings = _only(await _audit(migrated_db), "I-6")
    assert {f.object for f in findings} == {"app.count_all()"}
    assert any("without a pinned search_path" in f.message for f in findings)
    assert any("allow-list" in f.message for f in findings)
    allowed = await _audit(migrated_db, definer_allowlist={"app.count_all"})
    assert [f.message for f in allowed] == [
        "SECURITY DEFINER function without a pinned search_path"
    ]


async def test_view_without_security_invoker(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "SET ROLE app_owner; CREATE VIEW live_bookings AS SELECT * FROM bookings"
        " WHERE deleted_at IS NULL; GRANT SELECT ON live_bookings TO app_tenant;"
        "CREATE VIEW safe_bookings WITH (security_invoker = true) AS SELECT * FROM bookings;"
        "RESET ROLE"
    )
    (f,) = _only(await _audit(migrated_db), "I-6")
    assert f.object == "public.live_bookings" and "tenant role can read it" in f.message
    assert f.fix == "ALTER VIEW public.live_bookings SET (security_invoker = true);"


async def test_leakproof_and_immutable_setting_readers(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "CREATE FUNCTION app.peek(text) RETURNS boolean LANGUAGE sql LEAKPROOF AS 'SELECT true';"
        "CREATE FUNCTION app.frozen_tenant() RETURNS uuid LANGUAGE sql IMMUTABLE"
        " AS $$ SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid $$"
    )
    findings = _only(await _audit(migrated_db), "I-6")
    assert sorted((f.object, f.message.split(":")[0]) for f in findings) == [
        ("app.frozen_tenant()", "IMMUTABLE function reads current_setting"),
        ("app.peek(text)", "LEAKPROOF function"),
    ]


async def test_tenant_role_that_bypasses_or_can_become_the_owner(
    migrated_db: LocalDatabase, su: asyncpg.Connection
) -> None:
    await su.execute(
        "CREATE ROLE audit_bypass LOGIN BYPASSRLS; CREATE ROLE audit_member LOGIN IN ROLE app_owner"
    )
    try:
        # (They also get I-2 findings: our policies apply to app_tenant, not to them.)
        (bypass,) = _codes(await _audit(migrated_db, tenant_role="audit_bypass"), "I-1")
        (member,) = _codes(await _audit(migrated_db, tenant_role="audit_member"), "I-1")
        (missing,) = _only(await _audit(migrated_db, tenant_role="nobody_here"), "I-1")
    finally:
        await su.execute("DROP ROLE audit_bypass; DROP ROLE audit_member")
    assert "BYPASSRLS" in bypass.message
    assert "can act as app_owner" in member.message
    assert "does not exist" in missing.message


def test_finding_reads_as_one_line() -> None:
    f = Finding("I-5", "public.t", "the tenant role holds TRUNCATE", "REVOKE TRUNCATE ON public.t;")
    assert (
        str(f) == "I-5 public.t: the tenant role holds TRUNCATE (fix: REVOKE TRUNCATE ON public.t;)"
    )


def test_server_version_floor() -> None:
    assert version_findings(180006) == []
    assert version_findings(170001) == []
    (old,) = version_findings(160004)
    assert old.code == "I-7" and "16.5" in old.fix
    assert version_findings(120020)[0].code == "I-7"


async def test_doctor_exit_codes(migrated_db: LocalDatabase, su: asyncpg.Connection) -> None:
    def doctor() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console entry point
            [
                sys.executable,
                "-m",
                "tenantdb.cli",
                "doctor",
                "--dsn",
                migrated_db.admin_dsn,
                "--tenant-dsn",
                migrated_db.tenant_dsn,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    clean = await anyio.to_thread.run_sync(doctor)
    assert (clean.returncode, clean.stdout.strip()) == (0, "no findings: RLS setup looks sound")
    await su.execute("GRANT TRUNCATE ON bookings TO app_tenant")
    broken = await anyio.to_thread.run_sync(doctor)
    assert broken.returncode == 1
    assert "I-5 public.bookings: the tenant role holds TRUNCATE" in broken.stdout
    assert "fix: REVOKE TRUNCATE ON public.bookings FROM app_tenant, PUBLIC;" in broken.stdout
