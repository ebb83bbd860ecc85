"""The embedded PostgreSQL starts with the roles ARCHITECTURE.md fixes."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import asyncpg

from tenantdb.local import LocalDatabase, LocalPostgres, Roles


async def test_roles_have_the_documented_attributes(local_pg: LocalPostgres) -> None:
    conn = await asyncpg.connect(local_pg.superuser_dsn)
    try:
        rows = {
            r["rolname"]: r
            for r in await conn.fetch(
                "SELECT rolname, rolcanlogin, rolbypassrls, rolsuper FROM pg_roles"
                " WHERE rolname = ANY($1::text[])",
                [Roles.OWNER, Roles.ADMIN, Roles.TENANT],
            )
        }
        member = await conn.fetchval(
            "SELECT pg_has_role($1, $2, 'MEMBER')", Roles.ADMIN, Roles.OWNER
        )
        tenant_member = await conn.fetchval(
            "SELECT pg_has_role($1, $2, 'MEMBER')", Roles.TENANT, Roles.OWNER
        )
    finally:
        await conn.close()
    assert not rows[Roles.OWNER]["rolcanlogin"]
    assert rows[Roles.ADMIN]["rolbypassrls"] and rows[Roles.ADMIN]["rolcanlogin"]
    assert not rows[Roles.TENANT]["rolbypassrls"] and rows[Roles.TENANT]["rolcanlogin"]
    assert not any(r["rolsuper"] for r in rows.values())
    assert member and not tenant_member


async def test_each_role_connects_with_its_dsn(local_pg: LocalPostgres) -> None:
    for dsn, role in ((local_pg.admin_dsn, Roles.ADMIN), (local_pg.tenant_dsn, Roles.TENANT)):
        conn = await asyncpg.connect(dsn)
        try:
            assert await conn.fetchval("SELECT current_user") == role
        finally:
            await conn.close()


async def test_max_connections_allows_the_concurrency_tests(local_pg: LocalPostgres) -> None:
    conn = await asyncpg.connect(local_pg.admin_dsn)
    try:
        assert int(await conn.fetchval("SHOW max_connections")) >= 200
    finally:
        await conn.close()


async def test_fresh_database_is_isolated(fresh_db: LocalDatabase) -> None:
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        assert await conn.fetchval("SELECT current_database()") == fresh_db.name
    finally:
        await conn.close()


async def test_persistent_data_dir_survives_a_restart() -> None:
    data = Path(tempfile.mkdtemp(prefix="tenantdb-persist-")) / "pg"
    try:
        async with LocalPostgres(data, database="keep") as pg:
            conn = await asyncpg.connect(pg.admin_dsn)
            await conn.execute("SET ROLE app_owner; CREATE TABLE kept (x int)")
            await conn.close()
        async with LocalPostgres(data, database="keep") as pg:
            conn = await asyncpg.connect(pg.admin_dsn)
            assert await conn.fetchval("SELECT to_regclass('kept') IS NOT NULL")
            await conn.close()
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)
