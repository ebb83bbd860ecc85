"""Seeding: deterministic, counted, loaded with COPY, refused on a seeded database."""

from __future__ import annotations

import io
import subprocess
import sys

import anyio
import asyncpg
import pytest
from fix_schema import SCHEMA_DIR

from tenantdb.admin.seed_data import TABLES
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.migrate import up
from tenantdb.seed import SeedError, seed


async def _checksums(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            t: await conn.fetchval(
                f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x"
            )
            for t in TABLES
        }
    finally:
        await conn.close()


async def _counts(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    finally:
        await conn.close()


@pytest.fixture
async def migrated_db(fresh_db: LocalDatabase) -> LocalDatabase:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    return fresh_db


async def test_same_seed_gives_identical_data(migrated_db: LocalDatabase) -> None:
    dsn = migrated_db.admin_dsn
    first = await seed(dsn, tenants=3, bookings_per_tenant=120, seed=7, analyze=False)
    sums = await _checksums(dsn)
    again = await seed(dsn, tenants=3, bookings_per_tenant=120, seed=7, reset=True, analyze=False)
    assert again.tenant_ids == first.tenant_ids
    assert await _checksums(dsn) == sums
    other = await seed(dsn, tenants=3, bookings_per_tenant=120, seed=8, reset=True, analyze=False)
    assert set(other.tenant_ids).isdisjoint(first.tenant_ids)
    changed = await _checksums(dsn)
    assert all(changed[t] != sums[t] for t in TABLES)


async def test_tenant_ids_do_not_depend_on_the_tenant_count(migrated_db: LocalDatabase) -> None:
    small = await seed(migrated_db.admin_dsn, tenants=2, bookings_per_tenant=0, seed=3)
    large = await seed(migrated_db.admin_dsn, tenants=4, bookings_per_tenant=0, seed=3, reset=True)
    assert large.tenant_ids[:2] == small.tenant_ids


async def test_summary_counts_match_the_database(migrated_db: LocalDatabase) -> None:
    summary = await seed(migrated_db.admin_dsn, tenants=4, bookings_per_tenant=450, seed=1)
    assert summary.counts == await _counts(migrated_db.admin_dsn)
    assert summary.counts["tenants"] == 4
    assert summary.counts["bookings"] == summary.counts["activity_log"] == 4 * 450
    assert summary.counts["properties"] == 4 * 2  # 1 + 450 // 400
    assert summary.counts["rooms"] == 8 * summary.counts["properties"]
    assert summary.total_rows == sum(summary.counts.values())
    assert all(tid in summary.render() for tid in summary.tenant_ids)


async def test_each_seeded_tenant_sees_exactly_its_rows(migrated_db: LocalDatabase) -> None:
    summary = await seed(migrated_db.admin_dsn, tenants=3, bookings_per_tenant=50, seed=5)
    conn = await asyncpg.connect(migrated_db.tenant_dsn)
    try:
        for tenant in summary.tenant_ids:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.current_tenant_id', $1, true)", tenant)
                assert await conn.fetchval("SELECT count(*) FROM bookings") == 50
                assert (
                    await conn.fetchval(
                        "SELECT count(*) FROM bookings WHERE tenant_id <> $1::uuid", tenant
                    )
                    == 0
                )
    finally:
        await conn.close()


async def test_rows_are_loaded_with_copy(
    migrated_db: LocalDatabase, local_pg: LocalPostgres
) -> None:
    before = local_pg.log_file.stat().st_size
    await seed(migrated_db.admin_dsn, tenants=2, bookings_per_tenant=20, seed=2, analyze=False)
    with local_pg.log_file.open("rb") as log:
        log.seek(before)
        new = log.read().decode("utf-8", "replace")
    copies = [line.split("statement: ", 1)[1] for line in new.splitlines() if "COPY " in line]
    assert [c.split("(", 1)[0] for c in copies] == [f'COPY "{t}"' for t in TABLES]
    assert all(c.rstrip().endswith("FROM STDIN (FORMAT binary)") for c in copies)
    assert "INSERT INTO" not in new


async def test_an_already_seeded_database_is_refused(migrated_db: LocalDatabase) -> None:
    await seed(migrated_db.admin_dsn, tenants=1, bookings_per_tenant=5)
    before = await _checksums(migrated_db.admin_dsn)
    with pytest.raises(SeedError, match=r"already holds 1 tenant\(s\).*--reset"):
        await seed(migrated_db.admin_dsn, tenants=1, bookings_per_tenant=5, seed=9)
    assert await _checksums(migrated_db.admin_dsn) == before


async def test_a_failure_in_the_last_table_leaves_nothing_behind(
    migrated_db: LocalDatabase,
) -> None:
    # activity_log is loaded last: a CHECK it cannot pass fails the COPY after every other
    # table was written; the one transaction must take all of them back.
    su = await asyncpg.connect(migrated_db.superuser_dsn)
    try:
        await su.execute(
            "ALTER TABLE activity_log ADD CONSTRAINT seed_test_never CHECK (false) NOT VALID"
        )
    finally:
        await su.close()
    assert TABLES[-1] == "activity_log"
    with pytest.raises(SeedError, match="rolled back: SQLSTATE 23514"):
        await seed(migrated_db.admin_dsn, tenants=2, bookings_per_tenant=20)
    assert set((await _counts(migrated_db.admin_dsn)).values()) == {0}


async def test_a_database_without_the_schema_is_refused(fresh_db: LocalDatabase) -> None:
    with pytest.raises(SeedError, match="migrate up"):
        await seed(fresh_db.admin_dsn, tenants=1)


async def test_bad_sizes_are_refused() -> None:
    with pytest.raises(SeedError, match="tenants must be >= 1"):
        await seed("postgresql://unused@127.0.0.1:1/x", tenants=0)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere(
    migrated_db: LocalDatabase,
) -> None:
    plain, tty = io.StringIO(), _Terminal()
    await seed(migrated_db.admin_dsn, tenants=2, bookings_per_tenant=3000, progress=plain)
    await seed(migrated_db.admin_dsn, tenants=2, bookings_per_tenant=3000, reset=True, progress=tty)
    lines = plain.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == list(TABLES)
    assert "\r" not in plain.getvalue()
    assert tty.getvalue().count("\r[") > len(TABLES)  # redrawn within the big tables too
    assert "100%" in tty.getvalue() and tty.getvalue().endswith("\n")


async def test_cli_prints_the_summary(migrated_db: LocalDatabase) -> None:
    def cli() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own console entry point
            [
                sys.executable,
                "-m",
                "tenantdb.cli",
                "seed",
                "--dsn",
                migrated_db.admin_dsn,
                "--tenants",
                "2",
                "--bookings-per-tenant",
                "10",
                "--seed",
                "4",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    done = await anyio.to_thread.run_sync(cli)
    assert done.returncode == 0, done.stderr
    assert "2 tenants" in done.stdout and "bookings" in done.stdout
    assert "seed: bookings 20 rows" in done.stderr
    again = await anyio.to_thread.run_sync(cli)
    assert again.returncode == 1 and "--reset" in again.stderr
