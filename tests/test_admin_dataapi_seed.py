"""Seeding over the RDS Data API (BatchExecuteStatement, one transaction) through the gateway."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from fix_schema import SCHEMA_DIR
from test_seed import _checksums, _counts

from tenantdb.admin import seed_dataapi as _dataapi_admin
from tenantdb.admin.seed_data import TABLES
from tenantdb.admin.seed_dataapi import chunks
from tenantdb.admin.session import DataApiSession
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.migrate import up
from tenantdb.seed import SeedError, seed


@pytest.fixture
async def migrated_db(fresh_db: LocalDatabase) -> LocalDatabase:
    await up(fresh_db.admin_dsn, SCHEMA_DIR)
    return fresh_db


async def test_seed_over_the_data_api_equals_seed_over_asyncpg(
    gateway: LocalDataApi, migrated_db: LocalDatabase, local_pg: LocalPostgres
) -> None:
    api = gateway.data_api(migrated_db.name, admin=True)
    over_api = await seed(api, tenants=3, bookings_per_tenant=60, seed=11)
    other = await local_pg.create_database(f"{migrated_db.name}_pg")
    try:
        await up(other.admin_dsn, SCHEMA_DIR)
        over_pg = await seed(other.admin_dsn, tenants=3, bookings_per_tenant=60, seed=11)
        assert over_api.tenant_ids == over_pg.tenant_ids
        assert over_api.counts == over_pg.counts
        assert await _counts(migrated_db.admin_dsn) == over_api.counts
        assert await _checksums(migrated_db.admin_dsn) == await _checksums(other.admin_dsn)
    finally:
        await local_pg.drop_database(other.name)
    assert gateway.open_transactions == 0


async def test_many_small_batches_in_one_transaction_give_the_same_tables(
    gateway: LocalDataApi, migrated_db: LocalDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shrunk limits force dozens of BatchExecuteStatement calls (by set count and by bytes)."""
    api = gateway.data_api(migrated_db.name, admin=True)
    await seed(api, tenants=2, bookings_per_tenant=40, seed=4, analyze=False)
    expected = await _checksums(migrated_db.admin_dsn)
    calls: list[int] = []
    original = DataApiSession.batch

    async def counting(self: DataApiSession, sql: str, sets: list[Any]) -> None:
        calls.append(len(sets))
        await original(self, sql, sets)

    monkeypatch.setattr(DataApiSession, "batch", counting)
    monkeypatch.setattr(_dataapi_admin, "MAX_SETS", 17)
    monkeypatch.setattr(_dataapi_admin, "MAX_REQUEST_BYTES", 6_000)
    await seed(api, tenants=2, bookings_per_tenant=40, seed=4, reset=True, analyze=False)
    assert await _checksums(migrated_db.admin_dsn) == expected
    assert len(calls) > 20 and max(calls) <= 17 and min(calls) < 17


async def test_seed_over_the_data_api_is_all_or_nothing(
    gateway: LocalDataApi, migrated_db: LocalDatabase
) -> None:
    su = await asyncpg.connect(migrated_db.superuser_dsn)
    try:
        await su.execute(
            "ALTER TABLE activity_log ADD CONSTRAINT seed_test_never CHECK (false) NOT VALID"
        )
    finally:
        await su.close()
    api = gateway.data_api(migrated_db.name, admin=True)
    with pytest.raises(SeedError, match="rolled back: SQLSTATE 23514"):
        await seed(api, tenants=2, bookings_per_tenant=20)
    assert set((await _counts(migrated_db.admin_dsn)).values()) == {0}
    assert gateway.open_transactions == 0


async def test_seeded_database_is_refused_and_reset_reloads(
    gateway: LocalDataApi, migrated_db: LocalDatabase
) -> None:
    api = gateway.data_api(migrated_db.name, admin=True)
    await seed(api, tenants=2, bookings_per_tenant=5, seed=1, analyze=False)
    before = await _checksums(migrated_db.admin_dsn)
    with pytest.raises(SeedError, match="already holds 2 tenant"):
        await seed(api, tenants=2, bookings_per_tenant=5, seed=1)
    await seed(api, tenants=2, bookings_per_tenant=5, seed=1, reset=True, analyze=False)
    assert await _checksums(migrated_db.admin_dsn) == before


async def test_a_database_without_the_schema_is_refused(
    gateway: LocalDataApi, fresh_db: LocalDatabase
) -> None:
    with pytest.raises(SeedError, match="migrate up"):
        await seed(gateway.data_api(fresh_db.name, admin=True), tenants=1)


def test_chunks_respect_the_byte_budget_and_the_set_limit() -> None:
    sets: list[list[dict[str, Any]]] = [
        [{"name": "c0", "value": {"stringValue": "x" * 100}}] for _ in range(50)
    ]
    by_count = list(chunks(sets, max_sets=7))
    assert [len(c) for c in by_count] == [7] * 7 + [1]
    by_bytes = list(chunks(sets, max_bytes=1_000))
    assert all(len(c) <= 7 for c in by_bytes) and sum(map(len, by_bytes)) == 50
    assert [s for c in by_bytes for s in c] == sets
    assert TABLES[0] == "tenants"


async def test_the_tenant_secret_cannot_seed(
    gateway: LocalDataApi, migrated_db: LocalDatabase
) -> None:
    """RLS and the tenant role's grants stop it; the one transaction leaves nothing."""
    with pytest.raises(SeedError, match="SQLSTATE 42501"):
        await seed(gateway.data_api(migrated_db.name), tenants=1, bookings_per_tenant=2)
    assert set((await _counts(migrated_db.admin_dsn)).values()) == {0}
    assert gateway.open_transactions == 0
