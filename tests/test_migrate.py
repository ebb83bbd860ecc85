"""Migration runner against a real PostgreSQL: chain, refusals, locking, rollback, directive."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import asyncpg
import pytest
from fix_schema import SCHEMA_DIR

from tenantdb.admin.migrate._bookkeeping import _LOCK_KEY
from tenantdb.local import LocalDatabase
from tenantdb.local.postgres import _bin_dir
from tenantdb.migrate import MigrationError, create, down, status, up

ALL_VERSIONS = [1, 2, 3, 4, 5]


def _write(directory: Path, stem: str, up_sql: str, down_sql: str = "SELECT 1;") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stem}.up.sql").write_text(up_sql)
    (directory / f"{stem}.down.sql").write_text(down_sql)


def _copy_schema(tmp_path: Path) -> Path:
    target = tmp_path / "schema"
    shutil.copytree(SCHEMA_DIR, target)
    return target


async def _schema_dump(db: LocalDatabase) -> str:
    """pg_dump --schema-only, minus the per-run random \\restrict key lines of pg_dump 18."""

    def run() -> str:
        out = subprocess.run(  # noqa: S603 - the wheel's pg_dump, fixed arguments
            [str(_bin_dir() / "pg_dump"), "--schema-only", "--no-owner", "-d", db.superuser_dsn],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return "\n".join(
            line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict"))
        )

    return await anyio.to_thread.run_sync(run)


async def _fetchval(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_up_down_up_leaves_an_identical_catalog(fresh_db: LocalDatabase) -> None:
    assert {r.state for r in await status(fresh_db.admin_dsn, SCHEMA_DIR)} == {"pending"}
    assert await up(fresh_db.admin_dsn, SCHEMA_DIR) == ALL_VERSIONS
    first = await _schema_dump(fresh_db)
    assert "CREATE TABLE public.bookings" in first
    assert await down(fresh_db.admin_dsn, SCHEMA_DIR, to=0) == ALL_VERSIONS[::-1]
    empty = await _schema_dump(fresh_db)
    assert "bookings" not in empty and "app.current_tenant_id" not in empty
    assert await up(fresh_db.admin_dsn, SCHEMA_DIR) == ALL_VERSIONS
    assert await _schema_dump(fresh_db) == first


async def test_each_down_undoes_exactly_its_up(fresh_db: LocalDatabase) -> None:
    """Not only the whole chain: every single down file restores the catalog its up found."""
    assert await up(fresh_db.admin_dsn, SCHEMA_DIR, to=0) == []  # just the tracking table
    before = {0: await _schema_dump(fresh_db)}
    for version in ALL_VERSIONS:
        assert await up(fresh_db.admin_dsn, SCHEMA_DIR, to=version) == [version]
        before[version] = await _schema_dump(fresh_db)
    for version in ALL_VERSIONS[::-1]:
        assert await down(fresh_db.admin_dsn, SCHEMA_DIR, to=version - 1) == [version]
        assert await _schema_dump(fresh_db) == before[version - 1], f"down of {version}"


async def test_second_up_has_nothing_to_do_and_status_lists_applied(
    fresh_db: LocalDatabase,
) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR, to=2)
    rows = await status(fresh_db.admin_dsn, SCHEMA_DIR)
    assert [(r.version, r.state) for r in rows] == [
        (1, "applied"),
        (2, "applied"),
        (3, "pending"),
        (4, "pending"),
        (5, "pending"),
    ]
    assert await up(fresh_db.admin_dsn, SCHEMA_DIR) == [3, 4, 5]
    assert await up(fresh_db.admin_dsn, SCHEMA_DIR) == []
    assert await down(fresh_db.admin_dsn, SCHEMA_DIR, to=3) == [5, 4]


async def test_objects_are_owned_by_the_owner_role_not_the_login_role(
    fresh_db: LocalDatabase,
) -> None:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    owners = await _fetchval(
        fresh_db.admin_dsn,
        "SELECT array_agg(DISTINCT pg_get_userbyid(relowner)) FROM pg_class"
        " WHERE relnamespace IN ('public'::regnamespace, 'app'::regnamespace)"
        " AND relkind IN ('r', 'i', 'v', 'S')",
    )
    assert owners == ["app_owner"]
    func_owners = await _fetchval(
        fresh_db.admin_dsn,
        "SELECT array_agg(DISTINCT pg_get_userbyid(proowner)) FROM pg_proc"
        " WHERE pronamespace = 'app'::regnamespace",
    )
    assert func_owners == ["app_owner"]


async def test_changed_applied_file_is_refused(fresh_db: LocalDatabase, tmp_path: Path) -> None:
    schema = _copy_schema(tmp_path)
    await up(fresh_db.admin_dsn, schema)
    changed = schema / "0002_inventory.up.sql"
    changed.write_text(changed.read_text() + "\n-- an innocent edit\n")
    with pytest.raises(
        MigrationError, match=r"0002_inventory\.up\.sql changed after it was applied"
    ):
        await up(fresh_db.admin_dsn, schema)
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await down(fresh_db.admin_dsn, schema, to=0)
    states = {r.version: r.state for r in await status(fresh_db.admin_dsn, schema)}
    assert states == {1: "applied", 2: "changed", 3: "applied", 4: "applied", 5: "applied"}


async def test_database_at_a_version_without_file_is_refused(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    schema = _copy_schema(tmp_path)
    await up(fresh_db.admin_dsn, schema)
    for suffix in ("up", "down"):
        (schema / f"0005_activity_log_partitions.{suffix}.sql").unlink()
    with pytest.raises(MigrationError, match=r"database is at version 5 .* no file"):
        await up(fresh_db.admin_dsn, schema)
    assert [r.state for r in await status(fresh_db.admin_dsn, schema)][-1] == "missing-file"


async def test_missing_down_file_is_refused_before_touching_the_database(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    (tmp_path / "0001_only_up.up.sql").write_text("CREATE TABLE only_up (id int);")
    with pytest.raises(MigrationError, match=r"missing down file 0001_only_up\.down\.sql") as info:
        await up(fresh_db.admin_dsn, tmp_path)
    assert info.value.path is not None and info.value.path.endswith("0001_only_up.up.sql")
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('tenantdb_migrations')") is None


async def test_duplicate_versions_are_refused(tmp_path: Path) -> None:
    _write(tmp_path, "0001_first", "SELECT 1;")
    _write(tmp_path, "0001_second", "SELECT 2;")
    with pytest.raises(MigrationError, match="duplicate migration version 1"):
        await up("postgresql://unused@127.0.0.1:1/none", tmp_path)


async def test_pending_file_older_than_applied_version_is_refused(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0002_second", "CREATE TABLE second (id int);", "DROP TABLE second;")
    await up(fresh_db.admin_dsn, tmp_path)
    _write(tmp_path, "0001_first", "CREATE TABLE first (id int);", "DROP TABLE first;")
    with pytest.raises(MigrationError, match=r"0001_first\.up\.sql is older than the applied"):
        await up(fresh_db.admin_dsn, tmp_path)


async def test_failing_migration_leaves_the_database_as_it_was(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_good", "CREATE TABLE good (id int);", "DROP TABLE good;")
    _write(
        tmp_path,
        "0002_bad",
        "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\nSELECT 1 / 0;\n",
        "DROP TABLE half_done;",
    )
    with pytest.raises(MigrationError) as info:
        await up(fresh_db.admin_dsn, tmp_path)
    err = info.value
    assert err.sqlstate == "22012"
    assert err.path is not None and err.path.endswith("0002_bad.up.sql")
    assert "0002_bad.up.sql failed and was rolled back" in str(err)
    assert "at line 3: SELECT 1 / 0;" in str(err)
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('half_done')") is None
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('good')") is not None
    versions = await _fetchval(
        fresh_db.admin_dsn, "SELECT array_agg(version ORDER BY version) FROM tenantdb_migrations"
    )
    assert versions == [1]


async def test_syntax_error_names_file_sqlstate_and_line(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_typo", "CREATE TABLE ok (id int);\n\nCREAT TABLE typo (id int);\n")
    with pytest.raises(MigrationError, match=r"SQLSTATE 42601.*at line 3: CREAT TABLE") as info:
        await up(fresh_db.admin_dsn, tmp_path)
    assert info.value.position is not None


async def test_concurrent_migrators_serialize(fresh_db: LocalDatabase, tmp_path: Path) -> None:
    # The first file sleeps inside its transaction, so the second migrator must wait for
    # the lock and then find nothing left to do.
    _write(
        tmp_path,
        "0001_slow",
        "SELECT pg_sleep(0.5);\nCREATE TABLE slow (id int);",
        "DROP TABLE slow;",
    )
    _write(tmp_path, "0002_after", "CREATE TABLE after_slow (id int);", "DROP TABLE after_slow;")
    results: list[list[int]] = []

    async def migrate() -> None:
        results.append(await up(fresh_db.admin_dsn, tmp_path))

    async with anyio.create_task_group() as tg:
        tg.start_soon(migrate)
        tg.start_soon(migrate)
    assert sorted(results) == [[], [1, 2]]


async def test_lock_held_elsewhere_gives_a_clear_timeout(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    holder = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        await holder.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        pid = holder.get_server_pid()
        with pytest.raises(MigrationError, match=f"backend pid {pid}.*migration lock"):
            await up(fresh_db.admin_dsn, tmp_path, lock_timeout=0.3)
    finally:
        await holder.close()
    assert await up(fresh_db.admin_dsn, tmp_path) == [1]


async def test_ddl_waiting_on_a_busy_table_times_out_and_rolls_back(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE busy (id int);", "DROP TABLE busy;")
    _write(
        tmp_path,
        "0002_alter",
        "ALTER TABLE busy ADD COLUMN note text;",
        "ALTER TABLE busy DROP COLUMN note;",
    )
    await up(fresh_db.admin_dsn, tmp_path, to=1)
    reader = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        async with reader.transaction():
            await reader.execute("SELECT * FROM busy")  # holds ACCESS SHARE until commit
            with pytest.raises(MigrationError, match="SQLSTATE 55P03") as info:
                await up(fresh_db.admin_dsn, tmp_path, ddl_lock_timeout=0.2)
    finally:
        await reader.close()
    assert info.value.path is not None and info.value.path.endswith("0002_alter.up.sql")
    assert [r.state for r in await status(fresh_db.admin_dsn, tmp_path)] == ["applied", "pending"]
    assert await up(fresh_db.admin_dsn, tmp_path) == [2]


async def test_no_transaction_directive_allows_create_index_concurrently(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    schema = _copy_schema(tmp_path)
    concurrently = (
        "CREATE INDEX CONCURRENTLY guests_tenant_name_idx ON guests (tenant_id, full_name);"
    )
    _write(
        schema,
        "0006_guest_names",
        f"-- tenantdb:no-transaction\n{concurrently}\n",
        "-- tenantdb:no-transaction\nDROP INDEX CONCURRENTLY guests_tenant_name_idx;\n",
    )
    assert await up(fresh_db.admin_dsn, schema) == [1, 2, 3, 4, 5, 6]
    owner = await _fetchval(
        fresh_db.admin_dsn,
        "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'guests_tenant_name_idx'",
    )
    assert owner == "app_owner"
    assert await down(fresh_db.admin_dsn, schema, to=5) == [6]
    assert (
        await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('guests_tenant_name_idx')") is None
    )


async def test_concurrent_index_without_directive_fails_cleanly(
    fresh_db: LocalDatabase, tmp_path: Path
) -> None:
    _write(tmp_path, "0001_t", "CREATE TABLE t (id int);", "DROP TABLE t;")
    _write(tmp_path, "0002_idx", "CREATE INDEX CONCURRENTLY t_idx ON t (id);", "SELECT 1;")
    with pytest.raises(MigrationError, match="SQLSTATE 25001") as info:
        await up(fresh_db.admin_dsn, tmp_path)
    assert info.value.sqlstate == "25001"
    assert [r.state for r in await status(fresh_db.admin_dsn, tmp_path)] == ["applied", "pending"]


async def test_connection_failure_is_a_migration_error(tmp_path: Path) -> None:
    _write(tmp_path, "0001_t", "SELECT 1;")
    with pytest.raises(MigrationError, match="cannot connect"):
        await status("postgresql://app_admin@127.0.0.1:1/nowhere", tmp_path)


def test_create_writes_the_next_numbered_pair(tmp_path: Path) -> None:
    _write(tmp_path, "0007_existing", "SELECT 1;")
    up_file, down_file = create(tmp_path, "add_invoices")
    assert (up_file.name, down_file.name) == (
        "0008_add_invoices.up.sql",
        "0008_add_invoices.down.sql",
    )
    with pytest.raises(MigrationError, match="lowercase"):
        create(tmp_path, "Bad Name")


async def test_cli_up_status_and_create(fresh_db: LocalDatabase, tmp_path: Path) -> None:
    schema = _copy_schema(tmp_path)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console entry point
            [sys.executable, "-m", "tenantdb.cli", "migrate", *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    def run_all() -> list[subprocess.CompletedProcess[str]]:
        return [
            cli("up", "--dsn", fresh_db.admin_dsn, "--dir", str(schema), "--to", "3"),
            cli("status", "--dsn", fresh_db.admin_dsn, "--dir", str(schema)),
            cli("create", "add_spa", "--dir", str(schema)),
            cli("status", "--dsn", fresh_db.admin_dsn, "--dir", str(tmp_path / "nope")),
            cli("down", "--dsn", fresh_db.admin_dsn, "--dir", str(schema), "--to", "1"),
        ]

    applied, listed, created, refused, rolled_back = await anyio.to_thread.run_sync(run_all)
    assert applied.returncode == 0, applied.stderr
    assert "applied 3 migration(s): 1, 2, 3" in applied.stdout
    assert listed.returncode == 0
    assert [line.split()[1] for line in listed.stdout.splitlines()[1:]] == [
        "applied",
        "applied",
        "applied",
        "pending",
        "pending",
    ]
    assert created.stdout.split() == [
        str(schema / "0006_add_spa.up.sql"),
        str(schema / "0006_add_spa.down.sql"),
    ]
    assert refused.returncode == 1
    assert "does not exist" in refused.stderr
    assert rolled_back.returncode == 0, rolled_back.stderr
    assert "rolled back 2 migration(s): 3, 2" in rolled_back.stdout


async def test_owner_role_the_login_role_cannot_assume_is_refused(
    fresh_db: LocalDatabase,
) -> None:
    with pytest.raises(MigrationError, match="SQLSTATE 42501") as info:
        await up(fresh_db.admin_dsn, SCHEMA_DIR, role="app_tenant")
    assert info.value.sqlstate == "42501"
    assert await _fetchval(fresh_db.admin_dsn, "SELECT to_regclass('tenants')") is None
