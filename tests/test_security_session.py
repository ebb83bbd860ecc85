"""Security review: session-level state made inside one tenant's transaction never reaches the
next transaction on the same backend (RLS.md §2.12, I-12, I-13).

tenantdb never sends session-level SQL itself, but the SQL it runs is the application's: a
query (or a function it calls) may run ``set_config(name, value, false)`` or ``SET name``. Such
a change survives COMMIT, and the tenant pool runs no reset on release. Every test here uses a
``max_size=1`` pool, so the next transaction gets the same backend.
"""

from __future__ import annotations

from typing import Any

import anyio
import asyncpg
import pytest
from fix_database import (
    COUNT_ITEMS,
    INSERT_ITEM,
    LIST_ITEMS,
    SESSION,
    MakeDb,
    Session,
    admin_rows,
    new_tenant,
    seed_items,
)

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query


def _exec(name: str, sql: str, *params: Param) -> Query[Any]:
    return Query(name=name, command=Command.EXEC, sql=sql, data_api_sql=sql, params=params)


SET_SESSION_CONFIG = _exec(
    "SetSessionConfig",
    "SELECT set_config($1, $2, false)",
    Param(name="name", number=1, pg_type="text"),
    Param(name="value", number=2, pg_type="text"),
)
SET_EXTRA = _exec("SetExtra", "SET app.extra = 'leaked'")
SET_SEARCH_PATH = _exec("SetSearchPath", "SET search_path = pg_catalog")
SET_ROW_SECURITY_OFF = _exec("RowSecurityOff", "SET row_security = off")
SHOW_ENCODING: Query[str] = Query(
    name="ShowEncoding",
    command=Command.ONE,
    sql="SELECT current_setting('client_encoding') || ','"
    " || current_setting('standard_conforming_strings')",
    data_api_sql="SELECT 1",
    row=str,
    from_record=lambda r: r[0],
)


async def _session(db: Database, ctx: TenantContext) -> Session:
    async with db.tenant(ctx) as tx:
        row = await tx.one(SESSION, ())
    assert row is not None
    return row


async def test_session_level_set_config_does_not_reach_the_next_transaction(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """A committed ``set_config(…, false)`` of A's transaction: C sees none of it."""
    a, b, c = new_tenant(), new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, b, 3)
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.exec(SET_SESSION_CONFIG, ("app.current_tenant_id", b))
            await tx.exec(SET_SESSION_CONFIG, ("app.extra", "leaked"))
            pid = (await tx.one(SESSION, ())).pid  # type: ignore[union-attr]
        seen = await _session(db, TenantContext(tenant_id=c))
        assert seen.pid == pid  # same backend
        assert seen.tenant == c
        assert seen.extra in ("", None)  # not A's session-level value
        assert seen.session_app_settings == 0
        async with db.tenant(TenantContext(tenant_id=c)) as tx:
            assert (await tx.one(COUNT_ITEMS, ())).n == 0  # type: ignore[union-attr]


async def test_session_level_set_does_not_reach_the_next_transaction(make_db: MakeDb) -> None:
    """``SET app.extra`` / ``search_path`` / ``row_security`` / ``client_encoding`` /
    ``standard_conforming_strings`` without LOCAL."""
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.exec(SET_EXTRA, ())
            await tx.exec(SET_SEARCH_PATH, ())
            await tx.exec(SET_ROW_SECURITY_OFF, ())
            await tx.exec(_exec("Sjis", "SET client_encoding = 'SJIS'"), ())
            await tx.exec(_exec("NonStandard", "SET standard_conforming_strings = off"), ())
        seen = await _session(db, TenantContext(tenant_id=new_tenant()))
        assert seen.extra in ("", None)
        assert seen.session_app_settings == 0
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            # unqualified `items` resolves through the default search_path again
            assert (await tx.one(COUNT_ITEMS, ())).n == 0  # type: ignore[union-attr]
            assert await tx.one(SHOW_ENCODING, ()) == "UTF8,on"


async def test_context_variables_of_the_next_context_win_over_session_values(
    make_db: MakeDb,
) -> None:
    """A context that sets ``app.extra`` sees its own value, not A's session value."""
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.exec(SET_SESSION_CONFIG, ("app.extra", "leaked"))
        ctx = TenantContext(tenant_id=new_tenant(), variables=(("app.extra", "mine"),))
        assert (await _session(db, ctx)).extra == "mine"
        assert (await _session(db, TenantContext(tenant_id=new_tenant()))).extra in ("", None)


async def test_reset_keeps_readonly_isolation_and_statement_timeout(make_db: MakeDb) -> None:
    """Clearing session state inside BEGIN must not undo what BEGIN asked for."""
    db = make_db(pool={"max_size": 1, "statement_timeout": 3.0})
    async with db:
        ctx = TenantContext(tenant_id=new_tenant())
        seen: list[Any] = []

        async def block() -> None:
            async with db.tenant(ctx, readonly=True, isolation="serializable") as tx:
                seen.append(await tx.one(SESSION, ()))
                await tx.exec(_exec("Sleep", "SELECT pg_sleep(5)"), ())

        with pytest.raises(errors.QueryCanceled):
            await block()
        row = seen[0]
        assert row is not None
        assert (row.read_only, row.isolation) == ("on", "serializable")


async def test_role_cannot_be_switched_by_tenant_sql(make_db: MakeDb) -> None:
    """The tenant role is a member of no role: ``SET ROLE`` to the owner fails (42501)."""
    db = make_db(pool={"max_size": 1})
    async with db:
        with pytest.raises(errors.InsufficientPrivilege):
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.exec(_exec("SetRole", "SET ROLE app_owner"), ())
        seen = await _session(db, TenantContext(tenant_id=new_tenant()))
        assert seen.current_user == seen.session_user


async def test_temporary_tables_cannot_shadow_tenant_tables(make_db: MakeDb) -> None:
    """pg_temp is searched first: a temp ``items`` would capture the next tenant's rows.

    The tenant role has no TEMPORARY privilege (``tenantdb doctor`` checks it), so it fails.
    """
    db = make_db(pool={"max_size": 1})
    async with db:
        with pytest.raises(errors.InsufficientPrivilege):
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.exec(
                    _exec("Shadow", "CREATE TEMP TABLE items (tenant_id uuid, id int, name text)"),
                    (),
                )


async def test_temporary_table_left_by_a_transaction_does_not_shadow_the_next(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """Where the tenant role has TEMPORARY (PUBLIC has it by default on a new database): A's
    committed temp ``items`` must not capture C's reads and writes on the same backend."""
    grant = f'GRANT TEMPORARY ON DATABASE "{items_pg.name}" TO app_tenant'
    su = await asyncpg.connect(items_pg.superuser_dsn)
    try:
        await su.execute(grant)
        a, c = new_tenant(), new_tenant()
        await seed_items(items_pg.admin_dsn, c, 2)
        db = make_db(pool={"max_size": 1})
        shadow = _exec(
            "Shadow", "CREATE TEMP TABLE items AS SELECT * FROM public.items WITH NO DATA"
        )
        async with db:
            for readonly in (True, False):  # DISCARD TEMP is allowed in READ ONLY too
                async with db.tenant(TenantContext(tenant_id=a)) as tx:
                    await tx.exec(shadow, ())
                    await tx.exec(INSERT_ITEM, (a, 1, "planted by A"))
                async with db.tenant(TenantContext(tenant_id=c), readonly=readonly) as tx:
                    rows = await tx.many(LIST_ITEMS, ())
                    if not readonly:
                        await tx.exec(INSERT_ITEM, (c, 99, "written by C"))
                assert [r.tenant_id for r in rows] == [c, c]
        assert len(await admin_rows(items_pg.admin_dsn, c)) == 3  # C's write reached the table
    finally:
        await su.execute(grant.replace("GRANT", "REVOKE").replace(" TO ", " FROM "))
        await su.close()


async def test_reset_all_and_discard_all_inside_a_tenant_transaction_fail_closed(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """``RESET ALL`` clears the context for the rest of the block (0 rows, never another
    tenant's: session values were cleared by BEGIN); ``DISCARD ALL`` is refused (25001)."""
    a = new_tenant()
    await seed_items(items_pg.admin_dsn, a, 2)
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.exec(SET_SESSION_CONFIG, ("app.current_tenant_id", a))  # session-level A
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.exec(_exec("ResetAll", "RESET ALL"), ())
            assert (await tx.one(COUNT_ITEMS, ())).n == 0  # type: ignore[union-attr]
        with pytest.raises(errors.TenantDBError) as info:
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.exec(_exec("DiscardAll", "DISCARD ALL"), ())
        assert info.value.sqlstate == "25001"  # type: ignore[attr-defined]
        seen = await _session(db, TenantContext(tenant_id=new_tenant()))
        assert seen.session_app_settings == 0


async def test_connect_time_settings_survive_the_begin_reset(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """DSN startup parameters are what RESET ALL returns to, so they keep applying."""
    show = Query(
        name="Show",
        command=Command.ONE,
        sql="SELECT current_setting('application_name') || ',' || current_setting('search_path')",
        data_api_sql="SELECT 1",
        row=str,
        from_record=lambda r: r[0],
    )
    db = make_db(tenant=items_pg.tenant_dsn + "?application_name=sec_app&search_path=public")
    async with db, db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
        assert await tx.one(show, ()) == "sec_app,public"


async def test_cancelled_block_leaves_no_session_state(make_db: MakeDb) -> None:
    """Cancellation right after a session-level SET: the rollback reverts it."""
    db = make_db(pool={"max_size": 1})
    async with db:
        with anyio.CancelScope() as scope:
            async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
                await tx.exec(SET_EXTRA, ())
                scope.cancel()
                await anyio.sleep(1)
        seen = await _session(db, TenantContext(tenant_id=new_tenant()))
        assert seen.extra in ("", None)
        assert seen.session_app_settings == 0
