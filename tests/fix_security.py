"""Fixtures for the security tests: a deferred-constraint table on the ``items`` database.

``sec_items_pg`` adds ``sec_pairs`` (RLS like ``items``) whose ``UNIQUE (tenant_id, k)`` is
``DEFERRABLE INITIALLY DEFERRED``, so a duplicate fails at COMMIT, not at the INSERT.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query

SEC_SCHEMA = """
CREATE TABLE IF NOT EXISTS sec_pairs (
    tenant_id uuid NOT NULL,
    k         integer NOT NULL,
    CONSTRAINT sec_pairs_k UNIQUE (tenant_id, k) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE sec_pairs ENABLE ROW LEVEL SECURITY;
ALTER TABLE sec_pairs FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS tenant_isolation ON sec_pairs;
CREATE POLICY tenant_isolation ON sec_pairs FOR ALL
    USING (tenant_id = (SELECT current_tenant()))
    WITH CHECK (tenant_id = (SELECT current_tenant()));
ALTER TABLE sec_pairs OWNER TO app_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON sec_pairs TO app_tenant;
"""

INSERT_PAIR: Query[Any] = Query(
    name="InsertPair",
    command=Command.EXEC,
    sql="INSERT INTO sec_pairs (tenant_id, k) VALUES ($1, $2)",
    data_api_sql="INSERT INTO sec_pairs (tenant_id, k) VALUES (:tenant_id, :k)",
    params=(
        Param(name="tenant_id", number=1, pg_type="uuid"),
        Param(name="k", number=2, pg_type="int4"),
    ),
)


@pytest.fixture(scope="session")
async def sec_items_pg(items_pg: LocalDatabase) -> LocalDatabase:
    """``items_pg`` plus ``sec_pairs`` (idempotent)."""
    conn = await asyncpg.connect(items_pg.superuser_dsn)
    try:
        await conn.execute(SEC_SCHEMA)
    finally:
        await conn.close()
    return items_pg
