"""One embedded PostgreSQL per test session, with the three roles and an empty database."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from tenantdb.local import LocalDatabase, LocalPostgres

_counter = itertools.count()


@pytest.fixture(scope="session")
async def local_pg(anyio_backend: str) -> AsyncIterator[LocalPostgres]:
    """The session's server; its own database (``local_pg.name``) is shared by tests."""
    async with LocalPostgres(log_statements=True) as pg:
        yield pg


@pytest.fixture
async def fresh_db(local_pg: LocalPostgres) -> AsyncIterator[LocalDatabase]:
    """A new empty database for a test that needs to change the schema or break things."""
    name = f"t_{next(_counter)}"
    db = await local_pg.create_database(name)
    yield db
    await local_pg.drop_database(name)
