"""Issue 9: a stateful attack on session state, on both lanes. Whatever a tenant block leaves
behind, the next tenant on the same backend observes nothing of it but its own committed rows.

Each step runs one tenant block with a random sequence of statements a tenant role may send
that change session state (the reviewed findings plus ``SET``, ``set_config(…, false)``,
``search_path``, ``SET ROLE`` attempts, cursors with and without HOLD, ``PREPARE``, ``LISTEN``,
advisory locks, time zone, client encoding, savepoints left open, errors left uncaught), then
a different tenant's probe block on the same pool (one connection) checks what it sees.
Runs on the ``ci`` profile (derandomized) in the test line and 10,000 examples under
``HYPOTHESIS_PROFILE=deep``. Steps go from Hypothesis's thread to the event loop with
``anyio.from_thread.run`` (as in ``test_isolation_hypothesis``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import asyncpg
import msgspec
import pytest
from fix_database import INSERT_ITEM, new_tenant
from fix_gateway import LocalDataApi
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.drivers.asyncpg.lane import PoolOptions
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Query

T = TypeVar("T")
_TENANTS = 3
OTHER = "00000000-0000-4000-8000-00000000dead"

CATALOG: tuple[str, ...] = (
    "DECLARE held CURSOR WITH HOLD FOR SELECT tenant_id, secret FROM items",
    "DECLARE plain CURSOR FOR SELECT secret FROM items",
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE, DEFERRABLE",
    "SELECT set_config('default_transaction_read_only', 'on', false)",
    "SELECT set_config('default_transaction_isolation', 'repeatable read', false)",
    "PREPARE leaked AS SELECT secret FROM items",
    "LISTEN tenant_channel",
    "SELECT pg_advisory_lock(77)",
    "SELECT pg_advisory_xact_lock(78)",
    f"SET app.current_tenant_id = '{OTHER}'",
    f"SELECT set_config('app.current_tenant_id', '{OTHER}', false)",
    "SELECT set_config('app.extra', 'leaked', false)",
    "SET search_path = pg_catalog",
    "SET ROLE app_admin",
    "SET SESSION AUTHORIZATION app_admin",
    "SET TIME ZONE 'Pacific/Kiritimati'",
    "SET client_encoding = 'LATIN1'",
    "SET standard_conforming_strings = off",
    "SET statement_timeout = '100ms'",
    "SELECT set_config('row_security', 'off', false)",
    "SAVEPOINT left_open",
    "SELECT nextval('item_seq')",
    "SELECT 1 / 0",
    "CREATE TEMP TABLE items (tenant_id uuid, id int, name text, secret text)",
)


class Seen(msgspec.Struct, frozen=True):
    """What a probe transaction sees of its session.

    ``extra`` is read with ``nullif(…, '')``: once a session has defined a custom variable,
    PostgreSQL keeps its *name* as an empty placeholder after ``RESET ALL`` (nothing can remove
    it short of a new session); its value is gone, which is what is checked.
    """

    tenant: str | None
    extra: str | None
    current_user: str
    search_path: str
    time_zone: str
    encoding: str
    conforming: str
    statement_timeout: str
    read_only: str
    isolation: str
    deferrable: str
    cursors: int
    prepared: int
    listening: int
    advisory: int
    temp_tables: int


_PROBE_SQL = """SELECT current_setting('app.current_tenant_id', true),
    nullif(current_setting('app.extra', true), ''), current_user::text,
    current_setting('search_path'), current_setting('TimeZone'),
    current_setting('client_encoding'), current_setting('standard_conforming_strings'),
    current_setting('statement_timeout'), current_setting('transaction_read_only'),
    current_setting('transaction_isolation'), current_setting('transaction_deferrable'),
    (SELECT count(*) FROM pg_cursors WHERE name IN ('held', 'plain'))::int,
    (SELECT count(*) FROM pg_prepared_statements WHERE from_sql)::int,
    (SELECT count(*) FROM pg_listening_channels())::int,
    (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'
       AND pid = pg_backend_pid())::int,
    (SELECT count(*) FROM pg_class WHERE relpersistence = 't')::int"""
PROBE: Query[Seen] = Query(
    name="Probe",
    command=Command.ONE,
    sql=_PROBE_SQL,
    data_api_sql=_PROBE_SQL,
    row=Seen,
    from_record=lambda r: Seen(*r),
)
ROWS: Query[tuple[str, int]] = Query(
    name="Rows",
    command=Command.MANY,
    sql="SELECT tenant_id::text, id FROM items ORDER BY 1, 2",
    data_api_sql="SELECT tenant_id::text, id FROM items ORDER BY 1, 2",
    row=tuple,
    from_record=lambda r: (str(r[0]), r[1]),
)
LASTVAL: Query[Any] = Query(
    name="Lastval", command=Command.EXEC, sql="SELECT lastval()", data_api_sql="SELECT lastval()"
)


def _exec(sql: str) -> Query[Any]:
    return Query(name="TenantSql", command=Command.EXEC, sql=sql, data_api_sql=sql)


def _on_loop(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    return anyio.from_thread.run(fn, *args)


class _SessionState(RuleBasedStateMachine):
    db: Database
    admin_dsn: str
    baseline: Seen

    def __init__(self) -> None:
        super().__init__()
        self.tenants: list[str] = []
        self.next_id = 0

    @initialize()
    def fresh_tenants(self) -> None:
        self.tenants = [new_tenant() for _ in range(_TENANTS)]

    async def _truth(self, tenant: str) -> list[tuple[str, int]]:
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            rows = await conn.fetch(
                "SELECT tenant_id::text, id FROM items WHERE tenant_id = $1 ORDER BY 1, 2", tenant
            )
        finally:
            await conn.close()
        return [(r[0], r[1]) for r in rows]

    @rule(
        who=st.integers(0, _TENANTS - 1),
        nxt=st.integers(0, _TENANTS - 1),
        statements=st.lists(st.sampled_from(CATALOG), min_size=1, max_size=4),
        swallow=st.booleans(),
    )
    def block_then_probe(self, who: int, nxt: int, statements: list[str], swallow: bool) -> None:
        if nxt == who:
            nxt = (who + 1) % _TENANTS
        self.next_id += 1
        item = self.next_id
        tenant, other = self.tenants[who], self.tenants[nxt]

        async def attack() -> None:
            async with self.db.tenant(TenantContext(tenant_id=tenant)) as tx:
                await tx.exec(INSERT_ITEM, (tenant, item, f"n{item}"))
                for sql in statements:
                    if swallow:  # the application catches the error and carries on
                        try:
                            async with tx.savepoint() as sp:
                                await sp.exec(_exec(sql), ())
                        except errors.TenantDBError:
                            pass
                    else:
                        await tx.exec(_exec(sql), ())

        async def probe() -> tuple[Seen | None, list[tuple[str, int]]]:
            async with self.db.tenant(TenantContext(tenant_id=other)) as tx:
                seen = await tx.one(PROBE, ())
                rows = await tx.many(ROWS, ())
            with pytest.raises(errors.ObjectNotInPrerequisiteState):  # no lastval of A's
                async with self.db.tenant(TenantContext(tenant_id=other)) as tx:
                    await tx.exec(LASTVAL, ())
            return seen, rows

        with contextlib.suppress(errors.TenantDBError):  # any typed error: the attacker's
            _on_loop(attack)
        seen, rows = _on_loop(probe)
        assert seen == msgspec.structs.replace(self.baseline, tenant=other)
        assert rows == _on_loop(self._truth, other)


async def _run(db: Database, admin_dsn: str) -> None:
    async with db:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            baseline = await tx.one(PROBE, ())
        assert baseline is not None
        machine = type(
            "SessionState",
            (_SessionState,),
            {"db": db, "admin_dsn": admin_dsn, "baseline": baseline},
        )
        machine_settings = settings(
            settings.default,
            max_examples=min(settings.default.max_examples, 60),
            stateful_step_count=8,
            suppress_health_check=[HealthCheck.too_slow],
        )
        if settings.default.max_examples >= 10_000:  # the deep profile: the whole budget
            machine_settings = settings(machine_settings, max_examples=10_000)
        await anyio.to_thread.run_sync(
            lambda: run_state_machine_as_test(machine, settings=machine_settings)
        )


@pytest.mark.parametrize("kind", ["asyncpg", "data_api"])
async def test_nothing_a_block_leaves_reaches_the_next_tenant(
    items_pg: LocalDatabase, gateway: LocalDataApi, kind: str
) -> None:
    tenant: Any = items_pg.tenant_dsn if kind == "asyncpg" else gateway.data_api(items_pg.name)
    db = Database(admin=items_pg.admin_dsn, tenant=tenant, pool=PoolOptions(max_size=1))
    await _run(db, items_pg.admin_dsn)
