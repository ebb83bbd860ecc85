"""Security review: a hostile tenant/user id can neither build a context nor become SQL.

The BEGIN round trip embeds the tenant and user ids as quoted literals (simple protocol, no
parameters). These tests attack that: every way of building a ``TenantContext`` without its
validator, a permissive user-supplied validator, a subclass that lies in ``settings()``, and a
session whose ``standard_conforming_strings`` is off (where a backslash would escape a quote).
The lane must embed only values of its own conservative literal shape and bind the rest.
"""

from __future__ import annotations

import pickle
from typing import Any

import msgspec
import pytest
from fix_database import COUNT_ITEMS, SESSION, MakeDb, new_tenant, seed_items
from hypothesis import example, given
from hypothesis import strategies as st

from tenantdb import errors
from tenantdb.context import TenantContext, slug_id
from tenantdb.drivers._settings import SAFE_LITERAL
from tenantdb.drivers.asyncpg import sql as _asyncpg_sql
from tenantdb.drivers.asyncpg.lane import _begin_plan
from tenantdb.drivers.lane import Isolation
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query

A = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"


class AnyId(msgspec.Struct, frozen=True):
    """A careless user validator: accepts everything."""

    def __call__(self, value: object, *, variable: str) -> str:
        return "looks fine"


ANY_ID = AnyId()


def _hostile(b: str) -> list[str]:
    """Values that would switch to tenant ``b`` or break the literal if embedded."""
    return [
        f"x',true),set_config('app.current_tenant_id','{b}',true)--",
        f"x'; SELECT set_config('app.current_tenant_id', '{b}', false); --",
        f"x\\',true),set_config('app.current_tenant_id','{b}',true)--",
        "x\\",
        f"{b}\\",
        "tenant\u2019s",  # non-ASCII look-alike of a quote
        "caf\u00e9",
        "a" * 129,
        f"$$,true),set_config('app.current_tenant_id','{b}',true)--",
    ]


SET_SESSION: Query[Any] = Query(
    name="SetSession",
    command=Command.EXEC,
    sql="SELECT set_config($1, $2, false)",
    data_api_sql="SELECT set_config(:name, :value, false)",
    params=(
        Param(name="name", number=1, pg_type="text"),
        Param(name="value", number=2, pg_type="text"),
    ),
)


# -- building a context without its validator ----------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: msgspec.structs.replace(TenantContext(tenant_id=A), tenant_id="x'"),
        lambda: msgspec.structs.replace(TenantContext(tenant_id=A), user_id="x'"),
        lambda: msgspec.convert({"tenant_id": "x'"}, TenantContext),
        lambda: msgspec.json.decode(b'{"tenant_id": "x\'"}', type=TenantContext),
        lambda: msgspec.msgpack.decode(
            msgspec.msgpack.encode({"tenant_id": "x'"}), type=TenantContext
        ),
        lambda: msgspec.convert(
            {"tenant_id": A, "variables": [["app.current_tenant_id", A]]}, TenantContext
        ),
    ],
)
def test_decoders_and_replace_run_the_validator(build: Any) -> None:
    with pytest.raises((errors.ContextError, msgspec.ValidationError)):
        build()


def test_pickle_round_trip_runs_the_validator() -> None:
    """A pickle whose tenant id was edited (same length) is validated on load."""
    evil = ("x'" + "0" * 36)[:36]
    data = pickle.dumps(TenantContext(tenant_id=A)).replace(A.encode(), evil.encode())
    with pytest.raises(errors.ContextError):
        pickle.loads(data)  # noqa: S301 - the attack under test


def test_frozen_context_cannot_be_mutated() -> None:
    ctx = TenantContext(tenant_id=A)
    with pytest.raises(AttributeError):
        ctx.tenant_id = "x'"  # type: ignore[misc]
    with pytest.raises(TypeError):
        object.__setattr__(ctx, "tenant_id", "x'")
    assert ctx.tenant_id == A


def test_non_str_ids_are_refused_even_by_a_permissive_validator() -> None:
    """A validator that says yes to anything cannot make an int/bytes/str subclass an id."""

    class Sneaky(str):
        pass

    for bad in (5, b"acme", ["a"], Sneaky(A)):
        with pytest.raises(errors.ContextError) as info:
            TenantContext(tenant_id=bad, validator=ANY_ID)  # type: ignore[arg-type]
        assert info.value.variable == "tenant_id"
        with pytest.raises(errors.ContextError):
            TenantContext(tenant_id=A, user_id=bad, validator=ANY_ID)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("app.current_tenant_id", A),
        ("app.current_user_id", A),
        ("App.role", "x"),
        ("app.role'", "x"),
        ("app.a.b", "x"),
        ("app.role;drop", "x"),
        ("search_path", "x"),
        ("role", "app_owner"),
        ("app.role", "a\x00b"),
        ("app.role", "x" * 1025),
    ],
)
def test_extra_variables_cannot_override_ids_or_reach_other_settings(name: str, value: str) -> None:
    with pytest.raises(errors.ContextError):
        TenantContext(tenant_id=A, variables=((name, value),))


# -- what the lane embeds ------------------------------------------------------------------------


def test_the_begin_script_embeds_only_safe_literals() -> None:
    b = new_tenant()
    for value in _hostile(b):
        ctx = TenantContext(tenant_id=value, user_id=value, validator=ANY_ID)
        script, bound = _begin_plan(ctx, False, None, 30.0)
        assert value not in script
        assert b not in script
        assert [v for _, v in bound] == [value, value]


_META = st.sampled_from(["'", "''", "\\", "\x00", ";", "--", "$$", "\u2019", "\n", " ", "E'"])


@given(
    st.one_of(
        st.text(),
        st.lists(st.one_of(st.just(A), _META, st.text(max_size=3)), max_size=8).map("".join),
    )
)
@example("x'")
@example("x\\")
@example("a" * 128)
@example("a" * 129)
def test_any_id_is_embedded_only_in_the_safe_shape(value: str) -> None:
    """Whatever a permissive validator lets through: the literal part of BEGIN holds only
    quote-free ASCII; everything else is bound, verbatim."""
    ctx = TenantContext(tenant_id=value, user_id=value, validator=ANY_ID)
    script, bound = _begin_plan(ctx, True, Isolation.SERIALIZABLE, 1.0)
    literal = SAFE_LITERAL.fullmatch(value) is not None
    assert script.isascii()
    if literal:
        assert not bound
        assert f"'{value}'" in script
    else:
        assert [v for _, v in bound] == [value, value]
        assert "'" + value not in script
    # the script is the fixed shape: every quote belongs to a literal of the safe alphabet
    for piece in script.split("'")[1::2]:
        assert SAFE_LITERAL.fullmatch(piece)


def test_a_subclass_lying_in_settings_still_travels_bound() -> None:
    b = new_tenant()

    class Lying(TenantContext, frozen=True):
        def settings(self) -> tuple[tuple[str, str], ...]:
            return (("app.current_tenant_id", f"x','{b}"), ("app.current_user_id", ""))

    script, bound = _begin_plan(Lying(tenant_id=A), False, None, None)
    assert b not in script
    assert bound == (("app.current_tenant_id", f"x','{b}"),)
    with pytest.raises(errors.ConfigurationError):
        _begin_plan(
            type("BadName", (Lying,), {"settings": lambda self: (("x'y", "1"),)})(tenant_id=A),
            False,
            None,
            None,
        )


def test_quote_literal_refuses_backslash_and_nul() -> None:
    """With standard_conforming_strings=off a backslash would escape the closing quote."""
    for bad in ("a\\", "a\x00"):
        with pytest.raises(errors.ConfigurationError):
            _asyncpg_sql.quote_literal(bad)
    assert _asyncpg_sql.quote_literal("it's") == "'it''s'"


async def test_hostile_ids_never_switch_tenant(make_db: MakeDb, items_pg: LocalDatabase) -> None:
    """End to end, with a permissive validator and ``standard_conforming_strings=off`` left on
    the backend by an earlier transaction: the id is stored verbatim (bound), never parsed, and
    the tenant sees no row of B (the policy's ``::uuid`` cast fails closed)."""
    b = new_tenant()
    await seed_items(items_pg.admin_dsn, b, 2)
    db = make_db(pool={"max_size": 1}, validator=ANY_ID)
    async with db:
        async with db.tenant(TenantContext(tenant_id=A, validator=ANY_ID)) as tx:
            await tx.exec(SET_SESSION, ("standard_conforming_strings", "off"))
        for value in _hostile(b):
            ctx = TenantContext(tenant_id=value, user_id=value, validator=ANY_ID)
            async with db.tenant(ctx) as tx:
                seen = await tx.one(SESSION, ())
                assert seen is not None
                assert (seen.tenant, seen.user) == (value, value)
            with pytest.raises(errors.TenantDBError) as info:
                async with db.tenant(ctx) as tx:
                    await tx.one(COUNT_ITEMS, ())
            assert info.value.sqlstate == "22P02"  # type: ignore[attr-defined]
        async with db.tenant(TenantContext(tenant_id=b, validator=ANY_ID)) as tx:
            assert (await tx.one(COUNT_ITEMS, ())).n == 2  # type: ignore[union-attr]


async def test_nul_in_a_permissively_validated_id_is_a_typed_error(make_db: MakeDb) -> None:
    db = make_db(pool={"max_size": 1}, validator=ANY_ID)
    async with db:
        with pytest.raises(errors.TenantDBError):
            async with db.tenant(TenantContext(tenant_id="a\x00b", validator=ANY_ID)):
                pass
        async with db.tenant(TenantContext(tenant_id=A, validator=ANY_ID)) as tx:
            seen = await tx.one(SESSION, ())
        assert seen is not None
        assert seen.tenant == A


@pytest.mark.parametrize("isolation", ["serializable; DROP TABLE items", "SERIALIZABLE --", 5])
async def test_isolation_level_cannot_carry_sql(make_db: MakeDb, isolation: Any) -> None:
    db = make_db()
    async with db:
        with pytest.raises(errors.ConfigurationError):
            db.tenant(TenantContext(tenant_id=A), isolation=isolation)


async def test_context_of_another_validator_is_refused(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        with pytest.raises(errors.ContextError):
            db.tenant(TenantContext(tenant_id="acme", validator=slug_id))
        with pytest.raises(errors.ContextError):
            db.tenant(TenantContext(tenant_id="x'", validator=ANY_ID))
