"""A Data-API-only deployment (the brief's case): both lanes over the Data API, from env."""

from __future__ import annotations

import pytest
from fix_schema import SCHEMA_DIR

import tenantdb
import tenantdb.migrate
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi


@pytest.fixture
def only_data_api_env(
    gateway: LocalDataApi, fresh_db: LocalDatabase, monkeypatch: pytest.MonkeyPatch
) -> LocalDatabase:
    for name in ("DATABASE_URL", "TENANT_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
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
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return fresh_db


async def test_health_checks_migrations_and_audit_over_the_data_api(
    gateway: LocalDataApi, only_data_api_env: LocalDatabase
) -> None:
    admin_api = gateway.data_api(only_data_api_env.name, admin=True)
    await tenantdb.migrate.up(admin_api, SCHEMA_DIR)
    async with tenantdb.Database.from_env(migrations=SCHEMA_DIR) as db:
        health = await db.health()
    assert health.lanes == ("admin:data_api", "tenant:data_api")
    assert health.migrations_current is True
    assert health.audit_passed is True, health.problems
    assert health.ok


async def test_pending_migrations_are_reported_over_the_data_api(
    only_data_api_env: LocalDatabase,
) -> None:
    async with tenantdb.Database.from_env(migrations=SCHEMA_DIR) as db:
        health = await db.health()
    assert health.migrations_current is False
    assert any("pending" in p for p in health.problems), health.problems
    assert not health.ok


async def test_admin_lane_over_the_data_api_bypasses_rls(
    gateway: LocalDataApi, only_data_api_env: LocalDatabase
) -> None:
    from hospitality import tenants

    await tenantdb.migrate.up(gateway.data_api(only_data_api_env.name, admin=True), SCHEMA_DIR)
    async with tenantdb.Database.from_env() as db:
        async with db.admin(reason="test") as adm:
            rows = await tenants.list_tenants(adm)
        assert rows == []


def test_tenant_secret_is_never_the_admin_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TENANT_DATABASE_URL", "DB_ADMIN_SECRET_ARN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "USE_DATA_API": "true",
        "DB_CLUSTER_ARN": "arn:aws:rds:us-east-1:123456789012:cluster:c",
        "DB_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:t",
        "DATABASE_NAME": "app",
    }
    db = tenantdb.Database.from_env(env)
    assert db._admin is None  # no admin secret: no admin lane, never the tenant secret
    assert db._tenant is not None
