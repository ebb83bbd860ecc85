"""``tenantdb doctor`` / ``audit`` over the RDS Data API: the same findings as over asyncpg;
and the CLI (migrate, seed, doctor) driven only by the Data API environment variables."""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest
from fix_schema import SCHEMA_DIR
from test_migrate import _copy_schema, _write
from test_seed import _checksums

from tenantdb import cli
from tenantdb.admin.session import admin_data_api_from_env, admin_target
from tenantdb.audit import Finding, audit
from tenantdb.database import Database
from tenantdb.errors import ConfigurationError
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.migrate import up
from tenantdb.seed import seed

_BREAKAGES = (
    "ALTER TABLE guests NO FORCE ROW LEVEL SECURITY",
    "CREATE POLICY open_read ON properties FOR SELECT TO app_tenant USING (true)",
    "CREATE UNIQUE INDEX guests_global_email ON guests (email)",
    "GRANT TRUNCATE ON rooms TO app_tenant",
    "CREATE FUNCTION app.peek(text) RETURNS boolean LANGUAGE sql LEAKPROOF AS 'SELECT true'",
    "CREATE VIEW public.live_bookings AS SELECT * FROM bookings",
)


@pytest.fixture
async def seeded_db(fresh_db: LocalDatabase) -> LocalDatabase:
    """Migrated and seeded (the behavioural probe needs rows to look at)."""
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    await seed(fresh_db.admin_dsn, tenants=2, bookings_per_tenant=3, analyze=False)
    return fresh_db


async def _audit_pg(db: LocalDatabase) -> list[Finding]:
    conn = await asyncpg.connect(db.admin_dsn)
    tenant = await asyncpg.connect(db.tenant_dsn)
    try:
        return await audit(conn, tenant_conn=tenant)
    finally:
        await conn.close()
        await tenant.close()


async def _audit_api(gateway: LocalDataApi, db: LocalDatabase) -> list[Finding]:
    return await audit(gateway.data_api(db.name, admin=True), tenant_conn=gateway.data_api(db.name))


async def test_doctor_over_the_data_api_is_clean_on_the_migrated_database(
    gateway: LocalDataApi, seeded_db: LocalDatabase
) -> None:
    assert await _audit_pg(seeded_db) == []
    assert await _audit_api(gateway, seeded_db) == []


async def test_doctor_over_the_data_api_finds_what_asyncpg_finds(
    gateway: LocalDataApi, seeded_db: LocalDatabase
) -> None:
    su = await asyncpg.connect(seeded_db.superuser_dsn)
    try:
        for sql in _BREAKAGES:
            await su.execute(sql)  # as superuser: LEAKPROOF needs it
    finally:
        await su.close()
    expected = await _audit_pg(seeded_db)
    assert {f.code for f in expected} >= {"I-2", "I-3", "I-4", "I-5", "I-6"}
    assert await _audit_api(gateway, seeded_db) == expected


async def test_the_behavioural_probe_runs_through_the_tenant_secret(
    gateway: LocalDataApi, seeded_db: LocalDatabase
) -> None:
    """``OR 1 = 1`` hides from the policy-text checks; only querying as the tenant shows it."""
    su = await asyncpg.connect(seeded_db.superuser_dsn)
    try:
        await su.execute(
            "ALTER POLICY tenant_isolation ON rooms USING"
            " (tenant_id = (SELECT app.current_tenant_id()) OR 1 = 1)"
        )
    finally:
        await su.close()
    expected = await _audit_pg(seeded_db)
    assert any("public.rooms" in f.object for f in expected)
    found = await _audit_api(gateway, seeded_db)
    assert found == expected
    without_tenant = await audit(gateway.data_api(seeded_db.name, admin=True))
    assert len(without_tenant) < len(found)  # the probe needs the tenant secret
    assert gateway.open_transactions == 0


# -- the CLI, in process, configured only by environment variables ----------------------------
@pytest.fixture
async def data_api_env(
    gateway: LocalDataApi, fresh_db: LocalDatabase, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A Data-API-only deployment: no DATABASE_URL, only the Data API variables."""
    env = {
        "USE_DATA_API": "true",
        "DB_CLUSTER_ARN": gateway.resource_arn,
        "DB_ADMIN_SECRET_ARN": gateway.admin_secret_arn,
        "DB_SECRET_ARN": gateway.tenant_secret_arn,
        "DATABASE_NAME": fresh_db.name,
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_RDS_DATA": gateway.endpoint_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    for name in ("DATABASE_URL", "TENANT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


async def _cli(*argv: str) -> int:
    # cli.main runs its own event loop (anyio.run): give it a thread of its own.
    return await anyio.to_thread.run_sync(cli.main, list(argv))


async def test_cli_migrate_seed_doctor_with_only_the_data_api_env(
    data_api_env: dict[str, str],
    fresh_db: LocalDatabase,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert await _cli("migrate", "up", "--dir", str(SCHEMA_DIR)) == 0
    assert "applied 5 migration(s): 1, 2, 3, 4, 5" in capsys.readouterr().out
    assert await _cli("migrate", "status", "--dir", str(SCHEMA_DIR)) == 0
    assert capsys.readouterr().out.count("  applied  ") == 5
    assert await _cli("seed", "--tenants", "2", "--bookings-per-tenant", "4", "--seed", "5") == 0
    assert "seed 5: 2 tenants" in capsys.readouterr().out
    assert await _cli("doctor") == 0
    assert "no findings" in capsys.readouterr().out

    su = await asyncpg.connect(fresh_db.superuser_dsn)
    try:
        await su.execute("ALTER TABLE guests NO FORCE ROW LEVEL SECURITY")
    finally:
        await su.close()
    assert await _cli("doctor") == 1
    assert "I-2 public.guests" in capsys.readouterr().out

    bad = _copy_schema(tmp_path)
    _write(bad, "0006_bad", "CREATE TABLE half (id int);\nSELECT 1 / 0;\n")
    assert await _cli("migrate", "up", "--dir", str(bad)) == 1
    err = capsys.readouterr().err
    assert "0006_bad.up.sql failed and was rolled back: SQLSTATE 22012" in err
    assert "at line 2: SELECT 1 / 0;" in err


async def test_seed_cli_over_the_data_api_equals_the_python_api(
    data_api_env: dict[str, str], fresh_db: LocalDatabase, gateway: LocalDataApi
) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    assert await _cli("seed", "--tenants", "2", "--bookings-per-tenant", "4", "--seed", "3") == 0
    sums = await _checksums(fresh_db.admin_dsn)
    api = gateway.data_api(fresh_db.name, admin=True)
    await seed(api, tenants=2, bookings_per_tenant=4, seed=3, reset=True, analyze=False)
    assert await _checksums(fresh_db.admin_dsn) == sums


async def test_the_tenant_secret_is_never_used_for_admin_work(
    data_api_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("DB_ADMIN_SECRET_ARN")
    with pytest.raises(ConfigurationError, match=r"DB_ADMIN_SECRET_ARN.*never used"):
        admin_data_api_from_env()
    assert await _cli("migrate", "status", "--dir", str(SCHEMA_DIR)) == 1
    assert "DB_ADMIN_SECRET_ARN" in capsys.readouterr().err
    assert await _cli("seed") == 1
    assert "DB_ADMIN_SECRET_ARN" in capsys.readouterr().err
    assert await _cli("doctor") == 2
    assert "DB_ADMIN_SECRET_ARN" in capsys.readouterr().err


def test_target_precedence() -> None:
    api_env = {
        "USE_DATA_API": "true",
        "DB_CLUSTER_ARN": "arn:aws:rds:us-east-1:123456789012:cluster:c",
        "DB_ADMIN_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:a",
        "DATABASE_NAME": "app",
        "DATABASE_URL": "postgresql://admin@h/app",
    }
    target = admin_target(None, env=api_env)
    assert not isinstance(target, str) and target is not None
    assert target.secret_arn.endswith(":a")
    assert admin_target("postgresql://x@h/db", env=api_env) == "postgresql://x@h/db"
    assert admin_target(None, env={"DATABASE_URL": "postgresql://y@h/db"}) == (
        "postgresql://y@h/db"
    )
    assert admin_target(None, env={}) is None
    forced = admin_target("postgresql://x@h/db", data_api=True, env=api_env)
    assert not isinstance(forced, str)


async def test_from_env_with_only_the_data_api_env_reports_the_lane(
    data_api_env: dict[str, str],
) -> None:
    async with Database.from_env() as db:
        health = await db.health()
    # DB_ADMIN_SECRET_ARN is set, so the admin lane is a Data API lane too
    assert health.reachable and health.lanes == ("admin:data_api", "tenant:data_api")
