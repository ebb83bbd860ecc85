"""The local RDS Data API gateway and real aioboto3 ``rds-data`` clients pointed at it.

Fixtures (the Data API driver's tests and the parametrized suites use these):

- ``gateway``: session-scoped :class:`tenantdb.local.LocalDataApi` over ``local_pg`` with the
  default (AWS) timeouts. ``gateway.config`` / ``gateway.admin_config`` are ready
  ``tenantdb.DataApi`` values for the tenant / admin secret; ``gateway.inject(...)`` injects
  faults (call ``gateway.clear_faults()`` in a ``finally`` if a test may leave some pending).
- ``rds_data``: a fresh aioboto3 ``rds-data`` client per test for ``gateway`` (dummy
  credentials, us-east-1, SDK retries off).

For short timeouts or a small connection cap, start a private gateway in the test::

    async with LocalDataApi(local_pg, transaction_idle_timeout=0.3) as gw:
        async with open_rds_data(gw.endpoint_url) as client: ...
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aioboto3
import pytest
from aiobotocore.config import AioConfig

from tenantdb.local import LocalPostgres
from tenantdb.local.dataapi import LocalDataApi

__all__ = ("GATEWAY_DB", "Api", "open_rds_data", "param")


@contextlib.asynccontextmanager
async def open_rds_data(endpoint_url: str, **config: Any) -> AsyncIterator[Any]:
    """An aioboto3 rds-data client for a gateway: retries off, timeouts above 45 s."""
    options: dict[str, Any] = {
        # botocore: "max_attempts" counts retries (1 = one retry); "total_max_attempts" calls.
        "retries": {"mode": "standard", "total_max_attempts": 1},
        "read_timeout": 70,
        "connect_timeout": 5,
        "max_pool_connections": 50,
        **config,
    }
    session = aioboto3.Session()
    async with session.client(
        "rds-data",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=AioConfig(**options),
    ) as client:
        yield client


@pytest.fixture(scope="session")
async def gateway(local_pg: LocalPostgres) -> AsyncIterator[LocalDataApi]:
    """The session's gateway (AWS defaults: 45 s statements, 3 min idle transactions)."""
    async with LocalDataApi(local_pg) as gw:
        yield gw


@pytest.fixture
async def rds_data(gateway: LocalDataApi) -> AsyncIterator[Any]:
    """A real aioboto3 ``rds-data`` client for ``gateway`` (dummy credentials, no retries)."""
    async with open_rds_data(gateway.endpoint_url) as client:
        yield client


# -- a scratch database for the gateway's own suites -------------------------------------------
GATEWAY_DB = "dataapi_conf"
_GATEWAY_DDL = """
SET ROLE app_owner;
CREATE TABLE t (
    id bigserial PRIMARY KEY,
    tag text,
    a int CHECK (a IS NULL OR a > 0),
    u uuid,
    j jsonb,
    ts timestamp(6),
    n numeric(10,2),
    i4 int4,
    big text
);
CREATE TABLE rls_items (tenant text NOT NULL, v int NOT NULL);
CREATE TYPE mood AS ENUM ('happy', 'sad');
CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (x int, y int);
ALTER TABLE rls_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_items FORCE ROW LEVEL SECURITY;
CREATE POLICY rls_items_tenant ON rls_items FOR ALL
    USING (tenant = current_setting('app.tenant_id', true))
    WITH CHECK (tenant = current_setting('app.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON t, rls_items TO app_tenant;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO app_tenant;
RESET ROLE;
"""


@pytest.fixture(scope="session")
async def gateway_db(local_pg: LocalPostgres) -> AsyncIterator[str]:
    """Name of a database with table ``t`` (one column per interesting type) and ``rls_items``
    (RLS forced on ``tenant = current_setting('app.tenant_id', true)``), granted to the tenant."""
    import asyncpg

    await local_pg.drop_database(GATEWAY_DB)
    db = await local_pg.create_database(GATEWAY_DB)
    conn = await asyncpg.connect(db.superuser_dsn)
    try:
        await conn.execute(_GATEWAY_DDL)
    finally:
        await conn.close()
    yield GATEWAY_DB
    await local_pg.drop_database(GATEWAY_DB)


class Api:
    """Thin helper over a plain rds-data client: fills in the ARNs and the database."""

    def __init__(self, client: Any, gw: LocalDataApi, database: str, *, admin: bool = True):
        self.client = client
        self.gw = gw
        self.database = database
        self.secret = gw.admin_secret_arn if admin else gw.tenant_secret_arn

    def args(self, **kw: Any) -> dict[str, Any]:
        return {"resourceArn": self.gw.resource_arn, "secretArn": self.secret, **kw}

    async def execute(self, sql: str, *params: dict[str, Any], **kw: Any) -> Any:
        if params:
            kw["parameters"] = list(params)
        if "transactionId" not in kw:
            kw.setdefault("database", self.database)
        return await self.client.execute_statement(**self.args(sql=sql, **kw))

    async def begin(self) -> str:
        res = await self.client.begin_transaction(**self.args(database=self.database))
        tx: str = res["transactionId"]
        return tx

    async def commit(self, tx: str) -> Any:
        return await self.client.commit_transaction(**self.args(transactionId=tx))

    async def rollback(self, tx: str) -> Any:
        return await self.client.rollback_transaction(**self.args(transactionId=tx))


def param(name: str, hint: str | None = None, **value: Any) -> dict[str, Any]:
    """``param("id", stringValue="…", hint="UUID")`` -> an SqlParameter."""
    out: dict[str, Any] = {"name": name, "value": value}
    if hint:
        out["typeHint"] = hint
    return out


@pytest.fixture
async def api(gateway: LocalDataApi, rds_data: Any, gateway_db: str) -> Api:
    """Admin-secret helper on the scratch database."""
    return Api(rds_data, gateway, gateway_db)


@pytest.fixture
async def tenant_api(gateway: LocalDataApi, rds_data: Any, gateway_db: str) -> Api:
    """Tenant-secret helper on the scratch database (RLS applies)."""
    return Api(rds_data, gateway, gateway_db, admin=False)


@pytest.fixture(autouse=True)
def _no_faults_carried_over(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fault one test injected and left pending must never hit the next test's calls.

    Tests clear their own faults in ``finally``; this is the backstop for the shared
    session ``gateway`` (a leftover fault would fail an unrelated later test, order-dependent).
    """
    yield
    if "gateway" in request.fixturenames:
        gateway: LocalDataApi = request.getfixturevalue("gateway")
        gateway.clear_faults()
