"""The SQL shape that a distributed PostgreSQL needs (issue 14 part 5, docs/scale.md §5).

Citus forwards ``SET LOCAL`` to the worker connections of a transaction (with
``citus.propagate_set_commands = 'local'``) but never evaluates a coordinator-side
``set_config()`` on the workers, where the RLS policies run. ``PoolOptions(
context_statements="set_local")`` spells the context as ``SET LOCAL`` in the same BEGIN
message; the default stays ``set_config(…, true)``, byte for byte.
"""

from __future__ import annotations

import pytest
from fix_database import (
    COUNT_ITEMS,
    LIST_ITEMS,
    SESSION,
    Count,
    MakeDb,
    PgProxy,
    new_tenant,
    seed_items,
)

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.drivers.asyncpg import sql
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.drivers.lane import Isolation
from tenantdb.local import LocalDatabase

TENANT = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
IDS = (("app.current_tenant_id", TENANT), ("app.current_user_id", ""))


def test_the_default_begin_still_uses_set_config() -> None:
    script = sql.begin_script(
        readonly=False,
        isolation=None,
        statement_timeout=30.0,
        literal=IDS,
        clear_session=True,
    )
    assert script.startswith("BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE NOT DEFERRABLE;")
    assert script.endswith(
        ";SELECT set_config('statement_timeout','30000',true),"
        f"set_config('app.current_tenant_id','{TENANT}',true),"
        "set_config('app.current_user_id','',true)"
    )
    assert "SET LOCAL" not in script


def test_the_set_local_form_is_one_message_of_set_local_statements() -> None:
    script = sql.begin_script(
        readonly=True,
        isolation=Isolation.REPEATABLE_READ,
        statement_timeout=5.0,
        literal=IDS,
        clear_session=True,
        set_local=True,
    )
    assert script.startswith("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY NOT DEFERRABLE;")
    assert script.endswith(
        ";SET LOCAL statement_timeout = 5000"
        f";SET LOCAL app.current_tenant_id = '{TENANT}'"
        ";SET LOCAL app.current_user_id = ''"
    )
    assert "set_config(" not in script.split("pg_advisory_unlock_all()")[1].split("END$")[-1]
    with pytest.raises(errors.ConfigurationError):
        sql.begin_script(
            readonly=False,
            isolation=None,
            statement_timeout=None,
            literal=(("app.x; DROP TABLE t", "v"),),
            set_local=True,
        )
    with pytest.raises(errors.ConfigurationError):
        PoolOptions(context_statements="set")  # type: ignore[arg-type]


async def test_set_local_blocks_isolate_tenants_in_three_round_trips(
    make_db: MakeDb, items_pg: LocalDatabase, pg_proxy: PgProxy
) -> None:
    a, b = new_tenant(), new_tenant()
    await seed_items(items_pg.admin_dsn, a, 2)
    await seed_items(items_pg.admin_dsn, b, 3)
    db = make_db(
        tenant=pg_proxy.dsn("app_tenant", items_pg.name),
        pool={"max_size": 1, "context_statements": "set_local"},
    )
    async with db:
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            await tx.one(COUNT_ITEMS, ())  # warm-up: prepares the statement once
        pg_proxy.reset()
        async with db.tenant(TenantContext(tenant_id=a)) as tx:
            assert await tx.one(COUNT_ITEMS, ()) == Count(2)
        assert pg_proxy.round_trips == 3
        async with db.tenant(TenantContext(tenant_id=b), readonly=True) as tx:
            rows = await tx.many(LIST_ITEMS, ())
            session = await tx.one(SESSION, ())
        assert {r.tenant_id for r in rows} == {b}
        assert session is not None
        assert session.tenant == b
        assert session.session_app_settings == 0  # transaction-local, like set_config(…, true)
        assert session.read_only == "on"
