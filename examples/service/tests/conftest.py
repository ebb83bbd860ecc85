"""The service under test: an httpx client on the ASGI app, over the plugin's database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from app import create_app

import tenantdb
from tenantdb.testing import JwtMinter


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def minter() -> JwtMinter:
    return JwtMinter(issuer="https://issuer.example", audience="hospitality-api")


@pytest.fixture
async def client(
    tenantdb_database: tenantdb.Database, minter: JwtMinter
) -> AsyncIterator[httpx.AsyncClient]:
    verifier = minter.verifier(user_validator=tenantdb.opaque_id, variables={"role": "app.role"})
    app = create_app(tenantdb_database, verifier)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
async def acme(tenantdb_tenant) -> tenantdb.TenantContext:  # type: ignore[no-untyped-def]
    return await tenantdb_tenant(slug="acme", name="Acme Hotels")


@pytest.fixture
async def globex(tenantdb_tenant) -> tenantdb.TenantContext:  # type: ignore[no-untyped-def]
    return await tenantdb_tenant(slug="globex", name="Globex Inns")
