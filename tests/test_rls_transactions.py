"""The shape of an RLS transaction: round trips, statements sent, context scope, nesting.

Everything goes through ``tenantdb.Database`` on a real PostgreSQL; the round trips are
counted on the wire by ``PgProxy`` and the statements read back from the server's statement
log (``log_statement=all``).
"""

from __future__ import annotations

import re

import anyio
import pytest
from fix_database import (
    COUNT_ITEMS,
    GET_ITEM,
    INSERT_ITEM,
    LIST_ITEMS,
    SESSION,
    MakeDb,
    PgProxy,
    new_tenant,
    seed_items,
)

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.local import LocalDatabase, LocalPostgres


async def test_single_query_transaction_is_three_round_trips_and_release_is_free(
    make_db: MakeDb, items_pg: LocalDatabase, pg_proxy: PgProxy
) -> None:
    tenant = new_tenant()
    await seed_items(items_pg.admin_dsn, tenant, 3)
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name), pool={"max_size": 1})
    ctx = TenantContext(tenant_id=tenant)
    async with db:
        async with db.tenant(ctx) as tx:  # warm-up: prepares the statement once
            await tx.one(GET_ITEM, (1,))
        for _ in range(3):
            pg_proxy.reset()
            async with db.tenant(ctx) as tx:
                item = await tx.one(GET_ITEM, (2,))
            assert item is not None
            assert item.name == "item-2"
            # BEGIN+context (Q), the query (Bind/Execute/Sync), COMMIT (Q); release sends nothing
            assert pg_proxy.messages.count("Q") == 2
            assert pg_proxy.round_trips == 3


async def test_extra_variables_cost_one_bound_round_trip(
    make_db: MakeDb, items_pg: LocalDatabase, pg_proxy: PgProxy
) -> None:
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name), pool={"max_size": 1})
    ctx = TenantContext(tenant_id=new_tenant(), variables=(("app.extra", "it's; bound"),))
    async with db:
        async with db.tenant(ctx) as tx:
            await tx.one(SESSION, ())
        pg_proxy.reset()
        async with db.tenant(ctx) as tx:
            session = await tx.one(SESSION, ())
        assert pg_proxy.round_trips == 4
    assert session is not None
    assert session.extra == "it's; bound"
    assert session.tenant == ctx.tenant_id


async def test_context_is_set_for_the_first_query_and_gone_after_commit(make_db: MakeDb) -> None:
    user = new_tenant()
    ctx = TenantContext(tenant_id=new_tenant(), user_id=user)
    db = make_db(pool={"max_size": 1})
    async with db:
        async with db.tenant(ctx) as tx:
            inside = await tx.one(SESSION, ())
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            after = await tx.one(SESSION, ())
    assert inside is not None
    assert after is not None
    assert (inside.tenant, inside.user) == (ctx.tenant_id, user)
    assert inside.pid == after.pid  # the same backend, reused
    assert after.user == ""  # no user in the second context: nothing carried over
    assert inside.session_app_settings == after.session_app_settings == 0
    assert inside.current_user == inside.session_user == "app_tenant"


async def test_readonly_and_isolation_apply_to_the_transaction(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        async with db.tenant(ctx, readonly=True, isolation="serializable") as tx:
            session = await tx.one(SESSION, ())
        with pytest.raises(errors.ReadOnlySqlTransaction) as info:
            async with db.tenant(ctx, readonly=True) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "x"))
        assert info.value.sqlstate == "25006"
        assert info.value.query == "InsertItem"
        async with db.tenant(ctx) as tx:
            default = await tx.one(SESSION, ())
    assert session is not None
    assert default is not None
    assert (session.read_only, session.isolation) == ("on", "serializable")
    assert (default.read_only, default.isolation) == ("off", "read committed")


async def test_no_session_level_state_is_ever_sent(
    make_db: MakeDb, local_pg: LocalPostgres
) -> None:
    """I-13: every statement the tenant lane sends, read back from the server's log."""
    ctx = TenantContext(tenant_id=new_tenant(), user_id=new_tenant(), variables=(("app.x", "1"),))
    db = make_db(pool={"max_size": 1})
    log = local_pg.log_file
    start = log.stat().st_size
    async with db:
        async with db.tenant(ctx) as tx:
            pid = (await tx.one(SESSION, ())).pid  # type: ignore[union-attr]
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
            async with tx.savepoint():
                await tx.many(LIST_ITEMS, ())
        async with db.tenant(ctx, readonly=True, isolation="repeatable read") as tx:
            await tx.one(COUNT_ITEMS, ())
        with pytest.raises(RuntimeError):
            async with db.tenant(ctx) as tx:
                raise RuntimeError("boom")
        await db.tenant_batch(ctx, [lambda tx: tx.one(COUNT_ITEMS, ())])
    lines = [
        line
        for line in log.read_text(errors="replace")[start:].splitlines()
        if (f"[{pid}]" in line and "statement:" in line)
        or (f"[{pid}]" in line and "execute" in line)
    ]
    text = "\n".join(lines)
    assert "set_config('app.current_tenant_id'" in text
    for line in lines:
        sql = line.split(": ", 2)[-1]
        # no pool reset round trip: RESET only ever travels inside the BEGIN message
        assert not re.search(r"(?i)^\s*(RESET|DISCARD)\b", sql), line
        assert not re.search(r"(?i)(^|;)\s*SET\s+(?!LOCAL\b)", sql), line
        assert not re.search(r"(?i)set_config\([^)]*,\s*false\s*\)", sql), line
        assert not re.search(r"(?i)\bSET\s+(LOCAL\s+)?(ROLE|SESSION\s+AUTHORIZATION)\b", sql), line
        if "set_config(" in sql:
            assert re.search(r"(?i)^\s*BEGIN\b", sql) or "$1" in sql, line


async def test_query_after_the_block_is_refused_before_sql(
    make_db: MakeDb, pg_proxy: PgProxy, items_pg: LocalDatabase
) -> None:
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name))
    async with db:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.one(COUNT_ITEMS, ())
        pg_proxy.reset()
        with pytest.raises(errors.ConfigurationError, match="CountItems"):
            await tx.one(COUNT_ITEMS, ())
        assert pg_proxy.round_trips == 0


async def test_non_context_is_refused_before_sql(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        for bad in ("a0000000-0000-4000-8000-00000000000a", None, {"tenant_id": "x"}):
            with pytest.raises(errors.ContextError):
                db.tenant(bad)  # type: ignore[arg-type]


async def test_exception_in_block_rolls_back_and_propagates(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        with pytest.raises(KeyError):  # noqa: PT012 - the async with block is what raises
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
                raise KeyError("caller's own error")
        async with db.tenant(ctx) as tx:
            assert await tx.many(LIST_ITEMS, ()) == []


async def test_swallowed_query_error_makes_commit_raise(make_db: MakeDb) -> None:
    """A caught failure inside the block cannot end in a silent partial write."""
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        with pytest.raises(errors.QueryError) as info:  # noqa: PT012 - the async with block is what raises
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a"))
                with pytest.raises(errors.UniqueViolation):
                    await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "again"))
        assert info.value.sqlstate == "25P02"
        async with db.tenant(ctx) as tx:
            assert await tx.many(LIST_ITEMS, ()) == []


async def test_savepoint_rolls_back_alone_and_keeps_the_tenant(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        async with db.tenant(ctx) as tx:
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "kept"))
            with pytest.raises(errors.UniqueViolation):  # noqa: PT012 - the async with block is what raises
                async with tx.savepoint():
                    await tx.exec(INSERT_ITEM, (ctx.tenant_id, 2, "dropped"))
                    await tx.exec(INSERT_ITEM, (ctx.tenant_id, 3, "kept"))
            session = await tx.one(SESSION, ())
            await tx.exec(INSERT_ITEM, (ctx.tenant_id, 4, "also kept"))
        async with db.tenant(ctx) as tx:
            names = [i.name for i in await tx.many(LIST_ITEMS, ())]
    assert names == ["kept", "also kept"]
    assert session is not None
    assert session.tenant == ctx.tenant_id


async def test_nested_block_with_same_context_is_a_savepoint(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db:
        async with db.tenant(ctx) as outer:
            await outer.exec(INSERT_ITEM, (ctx.tenant_id, 1, "outer"))
            with pytest.raises(LookupError):  # noqa: PT012 - the async with block is what raises
                async with db.tenant(ctx) as inner:
                    assert inner is outer
                    await inner.exec(INSERT_ITEM, (ctx.tenant_id, 2, "inner"))
                    raise LookupError
            outer_pid = (await outer.one(SESSION, ())).pid  # type: ignore[union-attr]
        async with db.tenant(ctx) as tx:
            assert [i.id for i in await tx.many(LIST_ITEMS, ())] == [1]
    assert outer_pid > 0


async def test_nested_block_cannot_change_the_tenant(make_db: MakeDb) -> None:
    """I-15: one tenant per top-level transaction, whatever the nesting."""
    a, b = TenantContext(tenant_id=new_tenant()), TenantContext(tenant_id=new_tenant())
    db = make_db()
    async with db, db.tenant(a) as tx:
        with pytest.raises(errors.ContextError):
            async with db.tenant(b):
                pass
        with pytest.raises(errors.ContextError):
            async with db.tenant(TenantContext(tenant_id=a.tenant_id, user_id=new_tenant())):
                pass
        async with tx.savepoint():
            with pytest.raises(errors.ContextError):
                await db.tenant_batch(b, [])
        session = await tx.one(SESSION, ())
    assert session is not None
    assert session.tenant == a.tenant_id


async def test_other_tasks_get_their_own_transactions(make_db: MakeDb) -> None:
    """Nesting is per task: a child task opens its own transaction, even for another tenant."""
    a, b = TenantContext(tenant_id=new_tenant()), TenantContext(tenant_id=new_tenant())
    db = make_db()
    seen: list[str | None] = []

    async def child() -> None:
        async with db.tenant(b) as tx:
            s = await tx.one(SESSION, ())
            seen.append(None if s is None else s.tenant)

    async with db, db.tenant(a) as tx:
        async with anyio.create_task_group() as tg:
            tg.start_soon(child)
        mine = await tx.one(SESSION, ())
    assert seen == [b.tenant_id]
    assert mine is not None
    assert mine.tenant == a.tenant_id


async def test_tenant_batch_returns_results_in_order(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    tenant = new_tenant()
    await seed_items(items_pg.admin_dsn, tenant, 3)
    ctx = TenantContext(tenant_id=tenant)
    db = make_db()
    async with db:
        got = await db.tenant_batch(
            ctx,
            [
                lambda tx: tx.one(GET_ITEM, (3,)),
                lambda tx: tx.one(COUNT_ITEMS, ()),
                lambda tx: tx.one(GET_ITEM, (1,)),
                lambda tx: tx.one(SESSION, ()),
            ],
        )
    assert [getattr(r, "id", None) for r in got[::2]] == [3, 1]
    assert got[1].n == 3
    assert got[3].tenant == tenant


async def test_tenant_batch_is_atomic(make_db: MakeDb) -> None:
    ctx = TenantContext(tenant_id=new_tenant())
    db = make_db()

    async def fail(_tx: object) -> None:
        raise ValueError("third operation fails")

    async with db:
        with pytest.raises(ValueError, match="third"):
            await db.tenant_batch(
                ctx,
                [
                    lambda tx: tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, "a")),
                    lambda tx: tx.exec(INSERT_ITEM, (ctx.tenant_id, 2, "b")),
                    fail,
                ],
            )
        async with db.tenant(ctx) as tx:
            assert await tx.many(LIST_ITEMS, ()) == []
