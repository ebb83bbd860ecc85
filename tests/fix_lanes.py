"""Both tenant lanes behind one fixture: the contract suites run once per transport.

* ``lane_db`` (parametrized, ids ``asyncpg`` / ``data_api``): an opened ``tenantdb.Database`` on
  the migrated hospitality database with the fixture tenants (``tenants_abc``). The admin lane
  is asyncpg (``migrated_pg.admin_dsn``); the tenant lane is ``migrated_pg.tenant_dsn`` or the
  session gateway's tenant ``config``. Data API retries use tiny delays.
* ``data_api_db``: the same as ``lane_db[data_api]``, for Data-API-only tests.
* ``count_calls(db)``: a ``Counter`` of rds-data operations the Data API lane of ``db`` sends,
  counted by a botocore ``before-call`` hook on the lane's client.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.dataapi.lane import DataApiLane, RetryPolicy
from tenantdb.local.dataapi import LocalDataApi

if TYPE_CHECKING:  # a plugin module must not import another plugin (pytest rewrite order)
    from fix_schema import TenantSet

__all__ = ("FAST_RETRY", "LANES", "count_calls", "data_api_lane", "open_lane_db")

LANES = ("asyncpg", "data_api")
FAST_RETRY = RetryPolicy(
    deadline=5.0, resuming_delays=(0.01, 0.02, 0.05), base_delay=0.005, max_delay=0.05
)
"""Retries that finish in milliseconds (tests never sleep for real seconds)."""


def data_api_lane(db: Database) -> DataApiLane:
    """The Data API tenant lane of ``db`` (tests reach into it to count calls or tune retries)."""
    lane: Any = db._tenant
    assert isinstance(lane, DataApiLane)
    return lane


def count_calls(db: Database) -> Counter[str]:
    """Count every rds-data call ``db``'s Data API lane makes from now on, by operation name."""
    counts: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    data_api_lane(db).client.client.meta.events.register("before-call.rds-data.*", hook)
    return counts


def open_lane_db(
    kind: str,
    tenants: TenantSet,
    gateway: LocalDataApi,
    *,
    pool: PoolOptions | None = None,
    retry: RetryPolicy = FAST_RETRY,
) -> Database:
    """An unopened Database with the given tenant transport (``async with`` it)."""
    pg = tenants.pg
    tenant: Any = pg.tenant_dsn if kind == "asyncpg" else gateway.config
    db = Database(admin=pg.admin_dsn, tenant=tenant, pool=pool)
    if kind == "data_api":
        data_api_lane(db).retry = retry
    return db


@pytest.fixture(params=LANES)
async def lane_db(
    request: pytest.FixtureRequest, tenants_abc: TenantSet, gateway: LocalDataApi
) -> AsyncIterator[Database]:
    """An opened Database per tenant transport (ids ``asyncpg`` and ``data_api``)."""
    async with open_lane_db(request.param, tenants_abc, gateway) as db:
        yield db


@pytest.fixture
async def data_api_db(tenants_abc: TenantSet, gateway: LocalDataApi) -> AsyncIterator[Database]:
    """An opened Database whose tenant lane is the Data API (session gateway)."""
    async with open_lane_db("data_api", tenants_abc, gateway) as db:
        yield db
