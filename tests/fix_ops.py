"""Both tenant lanes on the ``items`` RLS schema, for the operations suites (run, shutdown,
telemetry): tests there write, so they need a table they may change with fresh tenant ids.

* ``ops_db`` (parametrized, ids ``asyncpg`` / ``data_api``): ``make_ops_db(kind)`` opened, with
  an asyncpg admin lane on ``items_pg`` and the tenant lane over asyncpg or the session gateway
  (``gateway.data_api(items_pg.name)``). Data API call retries use tiny delays.
* ``make_ops_db(kind, **options)``: an unopened ``Database`` of that kind (``async with`` it);
  ``options`` go to the constructor (``pool=``, ``metrics=``, ``drain_timeout=``, ...).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest

from tenantdb.database import Database
from tenantdb.drivers.dataapi.lane import DataApiLane, RetryPolicy
from tenantdb.local import LocalDatabase
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Query

__all__ = ("OPS_FAST_RETRY", "OPS_LANES", "MakeOpsDb", "both_lanes")

OPS_LANES = ("asyncpg", "data_api")
OPS_FAST_RETRY = RetryPolicy(
    deadline=5.0, resuming_delays=(0.01, 0.02, 0.05), base_delay=0.005, max_delay=0.05
)
"""Call retries that finish in milliseconds."""

MakeOpsDb = Callable[..., Database]


def both_lanes(query: Query[Any], *, name: str | None = None) -> Query[Any]:
    """``query`` with ``data_api_sql`` in ``:name`` form (the hand-built queries of
    ``fix_database`` use their ``$n`` SQL for both), so it runs on the Data API lane too;
    ``name`` renames it (telemetry finds a query's SQL by name: keep names unique)."""
    names = {p.number: p.name for p in query.params}
    data_api_sql = re.sub(r"\$(\d+)", lambda m: ":" + names[int(m.group(1))], query.sql)
    params = tuple(
        msgspec.structs.replace(p, type_hint="UUID") if p.pg_type == "uuid" else p
        for p in query.params
    )
    return msgspec.structs.replace(
        query, name=name or query.name, data_api_sql=data_api_sql, params=params
    )


@pytest.fixture
def make_ops_db(items_pg: LocalDatabase, gateway: LocalDataApi) -> MakeOpsDb:
    def factory(kind: str, *, call_retry: RetryPolicy = OPS_FAST_RETRY, **options: Any) -> Database:
        tenant: Any = items_pg.tenant_dsn if kind == "asyncpg" else gateway.data_api(items_pg.name)
        db = Database(admin=items_pg.admin_dsn, tenant=tenant, **options)
        if kind == "data_api":
            lane: Any = db._tenant
            assert isinstance(lane, DataApiLane)
            lane.retry = call_retry
        return db

    return factory


@pytest.fixture(params=OPS_LANES)
async def ops_db(request: pytest.FixtureRequest, make_ops_db: MakeOpsDb) -> AsyncIterator[Database]:
    """An opened Database on ``items_pg`` per tenant transport."""
    async with make_ops_db(request.param) as db:
        yield db
