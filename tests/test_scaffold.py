"""``tenantdb init``, ``codegen``, ``migrate create --tenant-table`` and ``seed --file``: a new
project of one's own, from an empty directory to passing tests, with the installed package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

import tenantdb.migrate
from tenantdb.audit import audit
from tenantdb.errors import ConfigurationError
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.scaffold import init_project, package_name
from tenantdb.seed import SeedError, seed_files


def _tenantdb(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our CLI
        [sys.executable, "-m", "tenantdb.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_init_codegen_migrate_and_the_skeletons_own_tests_pass(
    tmp_path: Path, local_pg: LocalPostgres, fresh_db: LocalDatabase
) -> None:
    root = tmp_path / "task-tracker"
    out = _tenantdb(tmp_path, "init", str(root))
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and (root / "sqlc.yaml").is_file()
    superuser = local_pg.dsn("postgres", "postgres")

    gen = _tenantdb(root, "codegen", "--server-dsn", superuser)
    assert gen.returncode == 0, gen.stderr
    assert f"wrote   generated/{package_name(root)}/projects.py" in gen.stdout
    check = _tenantdb(root, "codegen", "--check", "--server-dsn", superuser)
    assert check.returncode == 0, check.stdout + check.stderr

    up = _tenantdb(root, "migrate", "up", "--dsn", fresh_db.admin_dsn)
    assert (up.returncode, up.stdout.strip()) == (0, "applied 1 migration(s): 1"), up.stderr
    doctor = subprocess.run(
        [sys.executable, "-m", "tenantdb.cli", "doctor"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "DATABASE_URL": fresh_db.admin_dsn,
            "TENANT_DATABASE_URL": fresh_db.tenant_dsn,
        },
    )
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr

    tests = subprocess.run(  # noqa: S603 - the skeleton's own suite, against this server
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--tenantdb-server-dsn",
            superuser,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "7 passed" in tests.stdout  # 3 tests x 2 transports + the JWT test


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    init_project(tmp_path)
    with pytest.raises(ConfigurationError, match="already exist"):
        init_project(tmp_path)
    with pytest.raises(ConfigurationError, match="--package"):
        init_project(tmp_path / "x", package="Not-A-Package")
    assert init_project(tmp_path, force=True)


async def _findings(db: LocalDatabase) -> list[str]:
    admin = await asyncpg.connect(db.admin_dsn)
    tenant = await asyncpg.connect(db.tenant_dsn)
    try:
        return [f.code for f in await audit(admin, tenant_conn=tenant)]
    finally:
        await admin.close()
        await tenant.close()


async def test_migrate_create_tenant_table_is_accepted_by_doctor(
    tmp_path: Path, fresh_db: LocalDatabase
) -> None:
    init_project(tmp_path)
    schema = tmp_path / "schema"
    out = _tenantdb(tmp_path, "migrate", "create", "add_tasks", "--tenant-table", "tasks")
    assert out.returncode == 0, out.stderr
    up_file = schema / "0002_add_tasks.up.sql"
    assert out.stdout.split() == [
        str(Path("schema") / up_file.name),
        "schema/0002_add_tasks.down.sql",
    ]
    sql = up_file.read_text()
    assert "FORCE ROW LEVEL SECURITY" in sql and "(tenant_id, created_at)" in sql
    assert await tenantdb.migrate.up(fresh_db.admin_dsn, schema) == [1, 2]
    assert await _findings(fresh_db) == []
    # the down file undoes it
    assert await tenantdb.migrate.down(fresh_db.admin_dsn, schema, to=1) == [2]


async def test_doctor_would_catch_the_boilerplate_without_force(
    tmp_path: Path, fresh_db: LocalDatabase
) -> None:
    """Control: the doctor test above is meaningful, the same file minus FORCE is a finding."""
    init_project(tmp_path)
    schema = tmp_path / "schema"
    up_file, _ = tenantdb.migrate.create(schema, "add_tasks", tenant_table="tasks")
    up_file.write_text(
        up_file.read_text().replace("ALTER TABLE tasks FORCE ROW LEVEL SECURITY;", "")
    )
    await tenantdb.migrate.up(fresh_db.admin_dsn, schema)
    assert "I-2" in await _findings(fresh_db)


def test_tenant_table_names_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--tenant-table"):
        tenantdb.migrate.create(tmp_path, "x", tenant_table="tasks; DROP TABLE tenants")


async def test_seed_files_run_in_one_transaction(tmp_path: Path, fresh_db: LocalDatabase) -> None:
    init_project(tmp_path)
    await tenantdb.migrate.up(fresh_db.admin_dsn, tmp_path / "schema")
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    tid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    (seeds / "01_tenants.sql").write_text(
        f"INSERT INTO tenants (id, name) VALUES ('{tid}', 'Acme');"
    )
    (seeds / "02_projects.sql").write_text(
        f"INSERT INTO projects (tenant_id, name) VALUES ('{tid}', 'A'), ('{tid}', 'B');"
    )
    assert await seed_files(fresh_db.admin_dsn, [seeds]) == 2
    bad = tmp_path / "bad.sql"
    bad.write_text(f"INSERT INTO projects (tenant_id, name) VALUES ('{tid}', 'C');\nSELECT 1/0;")
    with pytest.raises(SeedError, match=r"bad\.sql failed, every seed file was rolled back"):
        await seed_files(fresh_db.admin_dsn, [bad])
    conn = await asyncpg.connect(fresh_db.admin_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM projects") == 2
    finally:
        await conn.close()
    cli = _tenantdb(tmp_path, "seed", "--dsn", fresh_db.admin_dsn, "--file", str(bad))
    assert cli.returncode == 1 and "rolled back" in cli.stderr
