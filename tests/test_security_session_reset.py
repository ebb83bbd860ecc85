"""Issue 9, findings 1 and 2: what a tenant's SQL leaves on a pooled backend, the next tenant's
BEGIN clears or overrides, in the same message (no extra round trip).

Every test uses a ``max_size=1`` pool, so B's transaction runs on the backend A just used.
Finding 1 was a real leak: a ``WITH HOLD`` cursor declared by A's SQL was materialised under
A's context at A's COMMIT, and B could ``FETCH`` A's rows from it. Finding 2 was availability:
``SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY`` made B's next write fail (25006),
because BEGIN fixes the characteristics before ``RESET ALL`` runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from fix_database import INSERT_ITEM, SESSION, MakeDb, admin_rows, new_tenant, seed_items

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Query


def _exec(sql: str) -> Query[Any]:
    return Query(name="TenantSql", command=Command.EXEC, sql=sql, data_api_sql=sql)


def _value(sql: str) -> Query[Any]:
    return Query(
        name="TenantValue",
        command=Command.ONE,
        sql=sql,
        data_api_sql=sql,
        row=object,
        from_record=lambda r: r[0],
    )


async def _pid(db: Database, ctx: TenantContext) -> int:
    async with db.tenant(ctx) as tx:
        row = await tx.one(SESSION, ())
    assert row is not None
    return row.pid


async def test_with_hold_cursor_of_a_does_not_reach_b(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    """A's ``WITH HOLD`` cursor over its own rows: B sees no cursor and cannot FETCH from it."""
    a, b = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 3)
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.exec(
                _exec("DECLARE export_cur CURSOR WITH HOLD FOR SELECT secret FROM items"), ()
            )
        pid = await _pid(db, TenantContext(tenant_id=a))
        async with db.tenant(TenantContext(tenant_id=b)) as tx:
            assert (await tx.one(SESSION, ())).pid == pid  # type: ignore[union-attr]
            cursors = "SELECT count(*)::int FROM pg_cursors WHERE name = 'export_cur'"
            assert await tx.one(_value(cursors), ()) == 0
        with pytest.raises(errors.InvalidCursorName):  # 34000: the cursor is gone
            async with db.tenant(TenantContext(tenant_id=b)) as tx:
                await tx.many(_value("FETCH ALL FROM export_cur"), ())


async def test_sql_prepared_statement_listen_and_advisory_lock_of_a_are_gone_for_b(
    make_db: MakeDb,
) -> None:
    """``PREPARE``, ``LISTEN``, a session advisory lock and ``nextval``'s session cache."""
    a, b = new_tenant(), new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.exec(_exec("PREPARE leaked AS SELECT secret FROM items"), ())
            await tx.exec(_exec("LISTEN tenant_a_channel"), ())
            await tx.exec(_exec("SELECT pg_advisory_lock(4242)"), ())
            await tx.exec(_exec("SELECT nextval('item_seq')"), ())
        async with db.tenant(TenantContext(tenant_id=b)) as tx:
            probe = (
                "SELECT (SELECT count(*) FROM pg_prepared_statements WHERE from_sql)::int,"
                " (SELECT count(*) FROM pg_listening_channels())::int,"
                " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                "   AND pid = pg_backend_pid())::int"
            )
            counts = await tx.one(
                Query(
                    name="Probe",
                    command=Command.ONE,
                    sql=probe,
                    data_api_sql=probe,
                    row=tuple,
                    from_record=tuple,
                ),
                (),
            )
            assert counts == (0, 0, 0)
        with pytest.raises(errors.ObjectNotInPrerequisiteState):  # 55000: lastval not defined
            async with db.tenant(TenantContext(tenant_id=b)) as tx:
                await tx.one(_value("SELECT lastval()"), ())


async def test_asyncpg_statement_cache_survives_the_reset(make_db: MakeDb) -> None:
    """The reset deallocates only SQL ``PREPARE``s: asyncpg's own statements stay cached."""
    a = new_tenant()
    db = make_db(pool={"max_size": 1})
    count_protocol = _value(
        "SELECT count(*)::int FROM pg_prepared_statements WHERE NOT from_sql"
        " AND statement LIKE '%pg_prepared_statements WHERE NOT from_sql%'"
    )
    async with db:
        for _ in range(3):
            async with db.tenant(TenantContext(tenant_id=a)) as tx:
                seen = await tx.one(count_protocol, ())
        assert seen == 1  # prepared once by asyncpg, reused by the later transactions


@pytest.mark.parametrize(
    "poison",
    [
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, DEFERRABLE",
        "SELECT set_config('default_transaction_read_only', 'on', false)",
        "SELECT set_config('default_transaction_isolation', 'repeatable read', false)",
        "SELECT set_config('default_transaction_deferrable', 'on', false)",
    ],
)
async def test_session_characteristics_of_a_do_not_change_b(
    make_db: MakeDb, items_pg: LocalDatabase, poison: str
) -> None:
    """B's transaction is READ WRITE, READ COMMITTED, NOT DEFERRABLE whatever A set."""
    a, b = new_tenant(), new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.exec(_exec(poison), ())
        for _ in range(2):  # and again: B's own transaction must not re-poison the backend
            async with db.tenant(TenantContext(tenant_id=b)) as tx:
                session = await tx.one(SESSION, ())
                assert session is not None
                assert (session.read_only, session.isolation) == ("off", "read committed")
                assert await tx.one(_value("SHOW transaction_deferrable"), ()) == "off"
        async with db.tenant(TenantContext(tenant_id=b)) as tx:
            await tx.exec(INSERT_ITEM, (b, 1, "written"))
        assert [r[:3] for r in await admin_rows(items_pg.admin_dsn, b)] == [(b, 1, "written")]


async def test_explicit_characteristics_are_still_honoured(make_db: MakeDb) -> None:
    """``readonly=True`` and ``isolation=`` still pick the transaction's characteristics."""
    b = new_tenant()
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(TenantContext(tenant_id=b), readonly=True) as tx:
            session = await tx.one(SESSION, ())
            assert session is not None and session.read_only == "on"
        async with db.tenant(TenantContext(tenant_id=b), isolation="serializable") as tx:
            session = await tx.one(SESSION, ())
            assert session is not None and session.isolation == "serializable"
            assert await tx.one(_value("SHOW transaction_deferrable"), ()) == "off"
