"""Migrations over the RDS Data API (admin secret) through the local gateway on real PostgreSQL.

The same files, the same catalog, the same guarantees as the asyncpg runner: one Data API
transaction per file under a transaction advisory lock, nothing left by a failing file, two
migrators never apply a file twice.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import asyncpg
import pytest
from fix_schema import SCHEMA_DIR
from test_migrate import ALL_VERSIONS, _copy_schema, _fetchval, _schema_dump, _write

from tenantdb.admin.migrate._bookkeeping import _LOCK_KEY
from tenantdb.drivers.dataapi.config import DataApi
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.migrate import MigrationError, down, status, up


def _admin(gateway: LocalDataApi, db: LocalDatabase) -> DataApi:
    return gateway.data_api(db.name, admin=True)


async def test_up_down_status_over_the_data_api_match_the_asyncpg_runner(
    gateway: LocalDataApi, fresh_db: LocalDatabase, local_pg: LocalPostgres
) -> None:
    api = _admin(gateway, fresh_db)
    assert {r.state for r in await status(api, SCHEMA_DIR)} == {"pending"}
    assert await up(api, SCHEMA_DIR) == ALL_VERSIONS
    over_data_api = await _schema_dump(fresh_db)
    rows = await status(api, SCHEMA_DIR)
    assert [r.state for r in rows] == ["applied"] * len(ALL_VERSIONS)
    assert all(r.applied_at is not None and r.applied_at.tzinfo is not None for r in rows)
    assert await up(api, SCHEMA_DIR) == []

    other = await local_pg.create_database(f"{fresh_db.name}_pg")
    try:
        assert await up(other.admin_dsn, SCHEMA_DIR) == ALL_VERSIONS
        assert await _schema_dump(other) == over_data_api
        # Both runners read each other's tracking rows: the asyncpg one sees "applied".
        assert [r.state for r in await status(fresh_db.admin_dsn, SCHEMA_DIR)] == ["applied"] * len(
            ALL_VERSIONS
        )
    finally:
        await local_pg.drop_database(other.name)

    assert await down(api, SCHEMA_DIR, to=0) == ALL_VERSIONS[::-1]
    empty = await _schema_dump(fresh_db)
    assert "bookings" not in empty and "app.current_tenant_id" not in empty
    assert await up(api, SCHEMA_DIR) == ALL_VERSIONS
    assert await _schema_dump(fresh_db) == over_data_api
    assert gateway.open_transactions == 0


async def test_objects_belong_to_the_owner_role(
    gateway: LocalDataApi, fresh_db: LocalDatabase
) -> None:
    assert await up(_admin(gateway, fresh_db), SCHEMA_DIR) == ALL_VERSIONS
    owners = await _fetchval(
        fresh_db.admin_dsn,
        "SELECT array_agg(DISTINCT pg_get_userbyid(relowner)) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'app')",
    )
    assert owners == ["app_owner"]


async def test_a_failing_migration_leaves_nothing(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    api = _admin(gateway, fresh_db)
    _write(tmp_path, "0001_ok", "CREATE TABLE ok (id int);", "DROP TABLE ok;")
    _write(
        tmp_path,
        "0002_bad",
        "CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1 / 0;\n",
        "DROP TABLE half;",
    )
    with pytest.raises(MigrationError, match=r"0002_bad.up.sql failed and was rolled back") as info:
        await up(api, tmp_path)
    err = info.value
    assert err.sqlstate == "22012"
    assert "at line 3: SELECT 1 / 0;" in str(err)
    assert err.path is not None and err.path.endswith("0002_bad.up.sql")
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('half')") is None
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('ok')") == "ok"
    assert [r.state for r in await status(api, tmp_path)] == ["applied", "pending"]
    assert gateway.open_transactions == 0


async def test_syntax_error_names_file_sqlstate_and_line(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_typo", "CREATE TABLE ok (id int);\n\nCREAT TABLE typo (id int);\n")
    with pytest.raises(MigrationError, match=r"SQLSTATE 42601.*at line 3: CREAT TABLE"):
        await up(_admin(gateway, fresh_db), tmp_path)
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('ok')") is None


async def test_concurrent_data_api_migrators_serialise(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    """Each file sleeps inside its transaction; the other migrator waits on the xact lock,
    re-reads the tracking table and never applies the same file again."""
    for n in range(1, 4):
        _write(
            tmp_path,
            f"000{n}_slow{n}",
            f"SELECT pg_sleep(0.2);\nCREATE TABLE slow{n} (id int);",
            f"DROP TABLE slow{n};",
        )
    api = _admin(gateway, fresh_db)
    results: list[list[int]] = []

    async def migrate() -> None:
        results.append(await up(api, tmp_path))

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(migrate)
    applied = sorted(v for r in results for v in r)
    assert applied == [1, 2, 3]  # every file exactly once
    assert all(r == sorted(r) for r in results)
    count = await _fetchval(fresh_db.admin_dsn, "SELECT count(*) FROM public.tenantdb_migrations")
    assert count == 3


async def test_a_session_lock_held_by_an_asyncpg_migrator_blocks_the_data_api_one(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    """Both transports take the same advisory lock key (session and xact forms share it)."""
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    holder = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        pid = holder.get_server_pid()
        with pytest.raises(MigrationError, match=f"backend pid {pid}.*migration lock"):
            await up(_admin(gateway, fresh_db), tmp_path, lock_timeout=0.3)
    finally:
        await holder.close()
    assert await up(_admin(gateway, fresh_db), tmp_path) == [1]
    assert gateway.open_transactions == 0


async def test_no_transaction_file_runs_autocommitted(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    schema = _copy_schema(tmp_path)
    _write(
        schema,
        "0006_guest_names",
        "-- tenantdb:no-transaction\n"
        "CREATE INDEX CONCURRENTLY guests_tenant_name_idx ON guests (tenant_id, full_name);\n",
        "-- tenantdb:no-transaction\nDROP INDEX CONCURRENTLY guests_tenant_name_idx;\n",
    )
    api = _admin(gateway, fresh_db)
    assert await up(api, schema) == [1, 2, 3, 4, 5, 6]
    valid = await _fetchval(
        fresh_db.admin_dsn,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'guests_tenant_name_idx'::regclass",
    )
    assert valid is True
    assert await down(api, schema, to=5) == [6]
    assert (
        await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('guests_tenant_name_idx')") is None
    )


async def test_concurrent_index_without_directive_fails_cleanly(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    _write(tmp_path, "0002_idx", "CREATE INDEX CONCURRENTLY t_idx ON t (id);", "SELECT 1;")
    api = _admin(gateway, fresh_db)
    with pytest.raises(MigrationError, match="SQLSTATE 25001"):
        await up(api, tmp_path)
    assert [r.state for r in await status(api, tmp_path)] == ["applied", "pending"]


async def test_refusals_are_the_same_as_with_asyncpg(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    api = _admin(gateway, fresh_db)
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    assert await up(api, tmp_path) == [1]
    (tmp_path / "0001_t.up.sql").write_text("CREATE TABLE t (id bigint);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await up(api, tmp_path)
    with pytest.raises(MigrationError, match="to must be >= 0"):
        await down(api, tmp_path, to=-1)


# -- faults (the gateway's fault injection) ----------------------------------------------------
async def test_throttling_is_retried_and_the_chain_still_applies(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    gateway.inject("throttling", times=3)
    try:
        assert await up(_admin(gateway, fresh_db), tmp_path) == [1]
    finally:
        gateway.clear_faults()
    assert gateway.open_transactions == 0


async def test_a_dropped_transaction_is_a_migration_error_and_leaves_nothing(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    api = _admin(gateway, fresh_db)
    gateway.inject("drop_transaction", operations=["ExecuteStatement"])
    try:
        with pytest.raises(MigrationError, match="transaction is gone"):
            await up(api, tmp_path)
    finally:
        gateway.clear_faults()
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('t')") is None
    assert gateway.open_transactions == 0
    assert await up(api, tmp_path) == [1]


async def test_a_5xx_inside_the_files_transaction_is_not_resent(
    gateway: LocalDataApi, fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    """A 504 after the statement ran: its outcome is unknown, so nothing is resent and the
    file's transaction is rolled back (no blind retry of a write)."""
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    api = _admin(gateway, fresh_db)
    gateway.inject("database_unavailable", when="after", operations=["ExecuteStatement"])
    try:
        with pytest.raises(MigrationError, match="outcome is unknown"):
            await up(api, tmp_path)
    finally:
        gateway.clear_faults()
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('t')") is None
    assert gateway.open_transactions == 0
    assert [r.state for r in await status(api, tmp_path)] == ["pending"]


async def test_the_tenant_secret_cannot_migrate(
    gateway: LocalDataApi, fresh_db: LocalDatabase
) -> None:
    """Handed the tenant secret by mistake, the runner fails before any DDL and leaves nothing
    (the tenant role cannot SET ROLE app_owner)."""
    with pytest.raises(MigrationError, match="SQLSTATE 42501"):
        await up(gateway.data_api(fresh_db.name), SCHEMA_DIR)
    assert (
        await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('public.tenantdb_migrations')")
        is None
    )
    assert gateway.open_transactions == 0
