"""Issue 9, finding 5: no tenant can read other sessions' query text (``pg_stat_activity``).

All tenants share one role, and PostgreSQL shows a session's query text to every session of
the same role, so any tenant's SQL could list which tenants are active and their user ids
(the asyncpg lane's BEGIN message carries them as literals). The schema convention revokes
the functions behind the view from PUBLIC (``tenantdb.local.postgres.hide_session_activity``,
docs/schema.md), ``tenantdb doctor`` reports a database where the tenant role still has them,
and the Data API lane binds the ids instead of embedding them.
"""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest
from fix_schema import TenantSet

from tenantdb import errors
from tenantdb.audit import Finding, audit
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.local.postgres import SESSION_ACTIVITY_FUNCTIONS, hide_session_activity
from tenantdb.query import Command, Query


def _many(sql: str) -> Query[Any]:
    return Query(
        name="Probe",
        command=Command.MANY,
        sql=sql,
        data_api_sql=sql,
        row=object,
        from_record=lambda r: r[0],
    )


@pytest.mark.parametrize(
    "probe",
    [
        "SELECT query FROM pg_stat_activity",
        "SELECT pg_stat_get_backend_activity(b) FROM pg_stat_get_backend_idset() AS b",
        "SELECT query FROM pg_stat_get_activity(NULL::integer)",
    ],
)
async def test_a_tenant_cannot_read_other_sessions_query_text(
    lane_db: Database, tenants_abc: TenantSet, probe: str
) -> None:
    a = TenantContext(tenant_id=tenants_abc.a.tenant_id)
    b = TenantContext(tenant_id=tenants_abc.b.tenant_id)
    a_is_open, b_is_done = anyio.Event(), anyio.Event()
    seen: list[BaseException] = []

    async def tenant_a() -> None:
        async with lane_db.tenant(a):  # A's BEGIN (and its ids) is its backend's last query
            a_is_open.set()
            await b_is_done.wait()

    async def tenant_b() -> None:
        await a_is_open.wait()
        try:
            async with lane_db.tenant(b) as tx:
                texts = await tx.many(_many(probe), ())
            assert not any(tenants_abc.a.tenant_id in str(t) for t in texts)
        except errors.TenantDBError as exc:
            seen.append(exc)
        finally:
            b_is_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(tenant_a)
        tg.start_soon(tenant_b)
    assert [type(e) for e in seen] == [errors.InsufficientPrivilege]  # 42501, no row read


async def test_the_data_api_context_statement_carries_no_id(
    data_api_db: Database, tenants_abc: TenantSet, local_pg: LocalPostgres
) -> None:
    """Even to a monitoring role that may read query text, the Data API lane shows no id."""
    a = tenants_abc.a.tenant_id
    async with data_api_db.tenant(TenantContext(tenant_id=a)):
        conn = await asyncpg.connect(local_pg.dsn("postgres", tenants_abc.pg.name))
        try:
            texts = await conn.fetch(
                "SELECT query FROM pg_stat_activity WHERE usename = 'app_tenant'"
                " AND query LIKE '%set_config%'"
            )
        finally:
            await conn.close()
    assert texts, "the context statement is the transaction's last statement"
    assert not any(a in r["query"] for r in texts)


def _activity(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if "query text" in f.message]


async def test_doctor_reports_a_tenant_role_that_can_read_query_text(
    local_pg: LocalPostgres,
) -> None:
    db: LocalDatabase = await local_pg.create_database("activity_doctor")
    try:
        su = await asyncpg.connect(db.superuser_dsn)
        admin = await asyncpg.connect(db.admin_dsn)
        try:
            assert _activity(await audit(admin)) == []  # the convention holds here
            functions = ", ".join(SESSION_ACTIVITY_FUNCTIONS)
            await su.execute(f"GRANT EXECUTE ON FUNCTION {functions} TO PUBLIC")
            (finding,) = _activity(await audit(admin))
            assert finding.code == "I-1"
            assert "REVOKE EXECUTE" in finding.fix
            await su.execute(hide_session_activity("app_admin"))
            assert _activity(await audit(admin)) == []
            await su.execute(f"GRANT EXECUTE ON FUNCTION {functions} TO app_tenant")
            assert len(_activity(await audit(admin))) == 1
        finally:
            await su.close()
            await admin.close()
    finally:
        await local_pg.drop_database("activity_doctor")
