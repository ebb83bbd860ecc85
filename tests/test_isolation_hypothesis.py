"""Property tests of isolation (RLS.md I-19 and §4.3) through ``tenantdb.Database``.

Hypothesis runs synchronously, so each test runs it in a worker thread
(``anyio.to_thread.run_sync``) and sends every database step back to the session's event loop
with ``anyio.from_thread.run``: one loop, one pool, real PostgreSQL. Budgets come from the
profile in ``fix_hypothesis`` (``HYPOTHESIS_PROFILE``: ``ci`` derandomized with 200 examples,
``deep`` with 10,000).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import msgspec
import pytest
from fix_database import (
    COUNT_ITEMS,
    DELETE_ITEM,
    DELETE_ITEM_OF,
    INSERT_ITEM,
    LIST_ITEMS,
    MOVE_ALL_ITEMS,
    RENAME_ITEM,
    RENAME_ITEM_OF,
    SESSION,
    Item,
    MakeDb,
    PgProxy,
    new_tenant,
    seed_items,
)
from fix_schema import TenantSet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query

T = TypeVar("T")

# -- strategies (RLS.md §4.3) ----------------------------------------------------------------------

_FULLWIDTH = str.maketrans("0123456789", "".join(chr(0xFF10 + d) for d in range(10)))
_SQL_META = ["'", "''", '"', ";", "--", "/*", "\\", "$1", "%s", "\n", "\x00", " ", "\u00a0",
             "\u200b", "\uff11", "\u0663", "_", "+"]  # fmt: skip


_Edit = Callable[[str, int, st.DrawFn], str]
_EDITS: tuple[_Edit, ...] = (
    lambda t, p, d: t.upper(),
    lambda t, p, d: t.replace("-", ""),
    lambda t, p, d: "{" + t + "}",
    lambda t, p, d: "urn:uuid:" + t,
    lambda t, p, d: t[:p] + t[p].translate(_FULLWIDTH) + t[p + 1 :],
    lambda t, p, d: d(st.sampled_from([" ", "\t", "\n", "_", "\u00a0"])) + t.replace("-", "")[1:],
    lambda t, p, d: t[:p] + d(st.sampled_from(_SQL_META)) + t[p:],
    lambda t, p, d: t[:p],
    lambda t, p, d: t + d(st.sampled_from(["\n", " ", "0", "-", "'"])),
    lambda t, p, d: f"{t}'; SELECT set_config('app.current_tenant_id', '{uuid.uuid4()}', false)--",
    lambda t, p, d: "00000000-0000-0000-0000-000000000000",
    lambda t, p, d: t,  # unedited: valid
)


@st.composite
def mutated_uuid(draw: st.DrawFn) -> str:
    """A real UUID with one realistic edit: case, width, spacing, braces, truncation, injection."""
    text = str(draw(st.uuids()))
    position = draw(st.integers(min_value=0, max_value=len(text) - 1))
    edit = draw(st.sampled_from(_EDITS))
    return edit(text, position, draw)


tenant_ids: st.SearchStrategy[object] = st.one_of(
    mutated_uuid(),
    st.uuids().map(str),
    st.text(max_size=64),
    st.text(
        alphabet="0123456789abcdefABCDEF-{}_ +:urnid\uff11\u0663\u200b", min_size=28, max_size=45
    ),
    st.builds(uuid.uuid4),
    st.integers(),
    st.none(),
    st.binary(max_size=40),
    st.lists(st.uuids().map(str), max_size=2),
)


def _on_loop(fn: Callable[..., Coroutine[Any, Any, T]], *args: Any) -> T:
    return anyio.from_thread.run(fn, *args)


# -- (a) ids: rejected before SQL, or isolated -----------------------------------------------------


async def test_tenant_ids_are_rejected_before_sql_or_see_only_their_rows(
    make_db: MakeDb, items_pg: LocalDatabase, pg_proxy: PgProxy
) -> None:
    victims = [new_tenant(), new_tenant()]
    for victim in victims:
        await seed_items(items_pg.admin_dsn, victim, 3)
    db = make_db(tenant=pg_proxy.dsn("app_tenant", items_pg.name), pool={"max_size": 2})
    tally = {"valid": 0, "rejected": 0}

    async def check_valid(ctx: TenantContext) -> None:
        async with db.tenant(ctx) as tx:
            rows = await tx.many(LIST_ITEMS, ())
            session = await tx.one(SESSION, ())
        assert {r.tenant_id for r in rows} <= {ctx.tenant_id}
        assert len(rows) == (3 if ctx.tenant_id in victims else 0)
        assert session is not None
        assert session.tenant == ctx.tenant_id

    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(raw=st.one_of(tenant_ids, st.sampled_from(victims)))
    def prop(raw: object) -> None:
        before = pg_proxy.round_trips
        ctx = None
        with contextlib.suppress(errors.ContextError):
            ctx = TenantContext(tenant_id=raw)  # type: ignore[arg-type]
        if ctx is None:
            tally["rejected"] += 1
            with pytest.raises(errors.ContextError, match="tenant_id"):
                TenantContext(tenant_id=raw)  # type: ignore[arg-type]
            with pytest.raises(errors.ContextError):
                db.tenant(raw)  # type: ignore[arg-type]
            assert pg_proxy.round_trips == before  # nothing reached the server
            return
        tally["valid"] += 1
        _on_loop(check_valid, ctx)

    async with db:
        await anyio.to_thread.run_sync(prop)
    assert tally["valid"] >= 5, tally
    assert tally["rejected"] >= 5, tally


# -- (b) a state machine of tenants against an in-memory model -------------------------------------

_ITEMS_OF: Query[Item] = Query(
    name="ItemsOfTenants",
    command=Command.MANY,
    sql="SELECT tenant_id, id, name FROM items WHERE tenant_id = ANY($1::uuid[])",
    data_api_sql="",
    params=(Param(name="tenants", number=1, pg_type="uuid", array_dims=1),),
    row=Item,
    from_record=lambda r: Item(str(r[0]), r[1], r[2]),
)
_TENANTS = 3
_IDS = st.integers(min_value=1, max_value=8)
_NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta", "it's", "x; DROP TABLE items"])
_WHO = st.integers(min_value=0, max_value=_TENANTS - 1)


class _Tenants(RuleBasedStateMachine):
    """Random tenants insert, rename, delete and read; every outcome must match the model.

    The model holds each tenant's rows; any observation of, or effect on, another tenant's rows
    shows up as a mismatch. Cross-tenant attacks are rules too.
    """

    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.tenants: list[str] = []
        self.model: list[dict[int, str]] = []

    @initialize()
    def fresh_tenants(self) -> None:
        self.tenants = [new_tenant() for _ in range(_TENANTS)]
        self.model = [{} for _ in range(_TENANTS)]

    def _run(self, who: int, fn: Callable[[Any], Awaitable[T]]) -> T:
        async def step() -> T:
            async with self.db.tenant(TenantContext(tenant_id=self.tenants[who])) as tx:
                return await fn(tx)

        return _on_loop(step)

    @rule(who=_WHO, item=_IDS, name=_NAMES)
    def insert(self, who: int, item: int, name: str) -> None:
        tid = self.tenants[who]
        if item in self.model[who] or name in self.model[who].values():
            with pytest.raises(errors.UniqueViolation):
                self._run(who, lambda tx: tx.exec(INSERT_ITEM, (tid, item, name)))
            return
        self._run(who, lambda tx: tx.exec(INSERT_ITEM, (tid, item, name)))
        self.model[who][item] = name

    @rule(who=_WHO, item=_IDS, name=_NAMES)
    def rename(self, who: int, item: int, name: str) -> None:
        mine = self.model[who]
        if item in mine and name in mine.values() and mine[item] != name:
            with pytest.raises(errors.UniqueViolation):
                self._run(who, lambda tx: tx.execrows(RENAME_ITEM, (item, name)))
            return
        n = self._run(who, lambda tx: tx.execrows(RENAME_ITEM, (item, name)))
        assert n == (1 if item in mine else 0)
        if item in mine:
            mine[item] = name

    @rule(who=_WHO, item=_IDS)
    def delete(self, who: int, item: int) -> None:
        n = self._run(who, lambda tx: tx.execrows(DELETE_ITEM, (item,)))
        assert n == (1 if item in self.model[who] else 0)
        self.model[who].pop(item, None)

    @rule(who=_WHO)
    def read(self, who: int) -> None:
        rows = self._run(who, lambda tx: tx.many(LIST_ITEMS, ()))
        assert {(r.tenant_id, r.id, r.name) for r in rows} == {
            (self.tenants[who], i, n) for i, n in self.model[who].items()
        }

    @rule(who=_WHO, victim=_WHO, item=_IDS, name=_NAMES)
    def attack_by_key(self, who: int, victim: int, item: int, name: str) -> None:
        vid = self.tenants[victim]
        if victim == who:
            return
        renamed = self._run(who, lambda tx: tx.execrows(RENAME_ITEM_OF, (vid, item, name)))
        deleted = self._run(who, lambda tx: tx.execrows(DELETE_ITEM_OF, (vid, item)))
        assert (renamed, deleted) == (0, 0)

    @rule(who=_WHO, victim=_WHO, item=_IDS)
    def attack_plant(self, who: int, victim: int, item: int) -> None:
        if victim == who:
            return
        vid = self.tenants[victim]
        with pytest.raises(errors.InsufficientPrivilege):
            self._run(who, lambda tx: tx.exec(INSERT_ITEM, (vid, item + 100, "planted")))

    @precondition(lambda self: any(self.model))
    @rule(who=_WHO, victim=_WHO)
    def attack_move_all(self, who: int, victim: int) -> None:
        if victim == who:
            return
        vid = self.tenants[victim]
        if self.model[who]:
            with pytest.raises(errors.InsufficientPrivilege):
                self._run(who, lambda tx: tx.execrows(MOVE_ALL_ITEMS, (vid,)))
        else:
            assert self._run(who, lambda tx: tx.execrows(MOVE_ALL_ITEMS, (vid,))) == 0

    @rule(who=_WHO)
    def batch_count(self, who: int) -> None:
        async def step() -> list[Any]:
            ctx = TenantContext(tenant_id=self.tenants[who])
            return await self.db.tenant_batch(
                ctx, [lambda tx: tx.one(COUNT_ITEMS, ()), lambda tx: tx.many(LIST_ITEMS, ())]
            )

        count, rows = _on_loop(step)
        assert count.n == len(rows) == len(self.model[who])

    @invariant()
    def admin_view_matches_model(self) -> None:
        async def everything() -> list[Item]:
            async with self.db.admin(reason="model check", readonly=True) as adm:
                return await adm.many(_ITEMS_OF, (self.tenants,))

        rows = _on_loop(everything) if self.tenants else []
        expected = {
            (t, i, n) for t, m in zip(self.tenants, self.model, strict=True) for i, n in m.items()
        }
        assert {(r.tenant_id, r.id, r.name) for r in rows} == expected


async def test_random_tenants_never_observe_or_change_each_other(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    db = make_db(pool={"max_size": 2})
    machine = type("Tenants", (_Tenants,), {"db": db})
    machine_settings = settings(
        settings.default, stateful_step_count=20, suppress_health_check=[HealthCheck.too_slow]
    )
    async with db:
        await anyio.to_thread.run_sync(
            lambda: run_state_machine_as_test(machine, settings=machine_settings)
        )


# -- (a) on both transports, on the hospitality schema ---------------------------------------------


class _Tid(msgspec.Struct, frozen=True):
    tenant_id: str


_BOOKING_TENANTS: Query[_Tid] = Query(
    name="BookingTenants",
    command=Command.MANY,
    sql="SELECT tenant_id::text FROM bookings",
    data_api_sql="SELECT tenant_id::text FROM bookings",
    row=_Tid,
    from_record=lambda r: _Tid(r[0]),
)


async def test_hostile_ids_on_both_transports(lane_db: Database, tenants_abc: TenantSet) -> None:
    """Rejected ids start no transaction and send no query on either lane; valid ids (random,
    or the fixture tenants) see exactly their own bookings."""
    owners = {tenants_abc.a.tenant_id: 2, tenants_abc.b.tenant_id: 2}
    tally = {"valid": 0, "rejected": 0}

    async def bookings_of(ctx: TenantContext) -> list[_Tid]:
        async with lane_db.tenant(ctx, readonly=True) as tx:
            return await tx.many(_BOOKING_TENANTS, ())

    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(raw=st.one_of(tenant_ids, st.sampled_from(sorted(owners))))
    def prop(raw: object) -> None:
        before = lane_db.metrics()
        ctx = None
        with contextlib.suppress(errors.ContextError):
            ctx = TenantContext(tenant_id=raw)  # type: ignore[arg-type]
        if ctx is None:
            tally["rejected"] += 1
            with pytest.raises(errors.ContextError):
                lane_db.tenant(raw)  # type: ignore[arg-type]
            after = lane_db.metrics()
            assert after.total_transactions == before.total_transactions
            assert after.total_queries == before.total_queries
            return
        tally["valid"] += 1
        rows = _on_loop(bookings_of, ctx)
        assert rows == [_Tid(ctx.tenant_id)] * owners.get(ctx.tenant_id, 0)

    await anyio.to_thread.run_sync(prop)
    assert tally["valid"] >= 5, tally
    assert tally["rejected"] >= 5, tally
