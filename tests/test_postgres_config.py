"""``tenantdb.Postgres``: TLS mode, a password source called per new connection (rotation, IAM
tokens), extra connect arguments and an init hook, against the embedded server with a real
password set on a role (scram-sha-256 in pg_hba.conf for that role only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import asyncpg
import msgspec
import pytest
from fix_schema import SCHEMA_DIR

import tenantdb
import tenantdb.migrate
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalPostgres
from tenantdb.postgres import Postgres, postgres_from_env, rds_iam_password
from tenantdb.query import Command, Query

ROLE = "tenantdb_pw_user"


class Value(msgspec.Struct):
    v: Any


def _q(sql: str) -> Query[Value]:
    return Query(
        name="Probe",
        command=Command.ONE,
        sql=sql,
        data_api_sql=sql,
        row=Value,
        from_record=lambda r: Value(r[0]),
    )


async def _value(tx: Any, sql: str) -> Any:
    row = await tx.one(_q(sql), ())
    assert row is not None
    return row.v


@pytest.fixture(scope="module")
async def password_role(local_pg: LocalPostgres) -> AsyncIterator[str]:
    """A login role that must authenticate with a password; yields its DSN (no password)."""
    hba = local_pg.data_dir / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + original)
    su = await asyncpg.connect(local_pg.dsn("postgres", "postgres"))
    try:
        await su.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'first'")
        await su.execute(f'GRANT CONNECT ON DATABASE "{local_pg.name}" TO {ROLE}')
        await su.execute("SELECT pg_reload_conf()")
        yield local_pg.dsn(ROLE)
    finally:
        hba.write_text(original)
        await su.execute("SELECT pg_reload_conf()")
        await su.execute(f'REVOKE CONNECT ON DATABASE "{local_pg.name}" FROM {ROLE}')
        await su.execute(f"DROP ROLE IF EXISTS {ROLE}")
        await su.close()


async def _whoami(db: tenantdb.Database) -> str:
    async with db.admin(reason="test") as adm:
        return str(await _value(adm, "SELECT current_user::text"))


async def test_the_password_is_really_checked(password_role: str) -> None:
    with pytest.raises(tenantdb.TenantDBError):
        async with tenantdb.Database(admin=Postgres(password_role, password="wrong")):
            pass


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_the_password_callable_runs_per_new_connection_and_follows_rotation(
    password_role: str, local_pg: LocalPostgres, kind: str
) -> None:
    current = ["first"]
    calls: list[str] = []

    three = anyio.Event()

    def sync_source() -> str:
        calls.append(current[0])
        if len(calls) == 3:
            three.set()
        return current[0]

    async def async_source() -> str:
        return sync_source()

    source = sync_source if kind == "sync" else async_source
    target = Postgres(password_role, password=source)
    options = PoolOptions(min_size=1, max_size=3)
    su = await asyncpg.connect(local_pg.dsn("postgres", "postgres"))
    try:
        async with tenantdb.Database(admin=target, pool=options) as db:
            assert calls == ["first"]  # the pool's first connection
            held = anyio.Event()

            async def hold() -> None:
                async with db.admin(reason="hold") as adm:
                    await _value(adm, "SELECT 1")
                    await held.wait()

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(hold)
                await three.wait()
                held.set()
            assert calls == ["first"] * 3  # one call per new connection, not per acquire

            # rotate: new password on the server, the source follows; a pool opened now (or
            # any new connection of this one) authenticates with the new one
            await su.execute(f"ALTER ROLE {ROLE} PASSWORD 'second'")
            current[0] = "second"
            async with tenantdb.Database(admin=target) as rotated:
                assert await _whoami(rotated) == ROLE
            assert calls == ["first"] * 3 + ["second"]
            assert await _whoami(db) == ROLE  # established sessions are not affected
    finally:
        await su.execute(f"ALTER ROLE {ROLE} PASSWORD 'first'")
        await su.close()


async def test_connect_kwargs_and_init_hook_on_the_tenant_lane(local_pg: LocalPostgres) -> None:
    seen: list[int] = []

    async def init(conn: asyncpg.Connection) -> None:
        seen.append(await conn.fetchval("SELECT pg_backend_pid()"))

    target = Postgres(
        local_pg.tenant_dsn,
        ssl="disable",
        connect_kwargs={"server_settings": {"application_name": "billing-api"}},
        init=init,
    )
    ctx = tenantdb.TenantContext(tenant_id="3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    async with tenantdb.Database(tenant=target) as db, db.tenant(ctx) as tx:
        # a startup setting survives the tenant BEGIN's RESET ALL: it is the session default
        assert await _value(tx, "SELECT current_setting('application_name')") == "billing-api"
        assert await _value(tx, "SELECT pg_backend_pid()") in seen


def test_arguments_are_checked_and_errors_name_them() -> None:
    dsn = "postgresql://app@h/db"
    with pytest.raises(tenantdb.ConfigurationError, match=r"Postgres\(dsn="):
        Postgres("mysql://x")
    with pytest.raises(tenantdb.ConfigurationError, match=r"Postgres\(ssl="):
        Postgres(dsn, ssl="sometimes")
    with pytest.raises(tenantdb.ConfigurationError, match=r"Postgres\(password="):
        Postgres(dsn, password=42)  # type: ignore[arg-type]
    with pytest.raises(tenantdb.ConfigurationError, match="may not set max_size"):
        Postgres(dsn, connect_kwargs={"max_size": 3})
    assert "secret" not in repr(Postgres("postgresql://app:secret@h/db"))


async def test_from_env_reads_the_tls_variables(local_pg: LocalPostgres) -> None:
    env = {"DATABASE_URL": local_pg.admin_dsn, "DATABASE_SSLMODE": "disable"}
    db = tenantdb.Database.from_env(env)
    async with db:
        assert await _whoami(db) == "app_admin"
    assert isinstance(postgres_from_env(local_pg.admin_dsn, env), Postgres)
    assert postgres_from_env(local_pg.admin_dsn, {}) == local_pg.admin_dsn
    with pytest.raises(tenantdb.ConfigurationError, match="DATABASE_SSLMODE"):
        tenantdb.Database.from_env({**env, "DATABASE_SSLMODE": "maybe"})


def test_rds_iam_tokens_are_signed_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real botocore signing with dummy credentials (no network): a token per call."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    source = rds_iam_password(host="db.example", port=5432, user="app_admin", region="eu-west-1")
    token = source()
    assert token.startswith("db.example:5432/?")
    assert "Action=connect" in token and "DBUser=app_admin" in token
    env = {
        "DATABASE_URL": "postgresql://app_admin@db.example:5432/app",
        "DATABASE_IAM_AUTH": "true",
        "AWS_REGION": "eu-west-1",
    }
    target = postgres_from_env(env["DATABASE_URL"], env)
    assert isinstance(target, Postgres)
    assert target.ssl == "verify-full"
    assert callable(target.password) and "DBUser=app_admin" in str(target.password())


async def test_migrations_accept_a_postgres_target(local_pg: LocalPostgres) -> None:
    rows = await tenantdb.migrate.status(Postgres(local_pg.admin_dsn, ssl="disable"), SCHEMA_DIR)
    assert rows
