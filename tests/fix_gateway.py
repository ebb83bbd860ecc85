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
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
import pytest
from aiobotocore.config import AioConfig

from tenantdb.local import LocalPostgres
from tenantdb.local.dataapi import LocalDataApi

__all__ = ("open_rds_data",)


@contextlib.asynccontextmanager
async def open_rds_data(endpoint_url: str, **config: Any) -> AsyncIterator[Any]:
    """An aioboto3 rds-data client for a gateway: retries off, timeouts above 45 s."""
    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": 1},
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
