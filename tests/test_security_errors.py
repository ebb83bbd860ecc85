"""Security review: no parameter value or row data in error messages, logs or metric keys.

PostgreSQL puts row data in DETAIL (``Key (tenant_id, name)=(…, secret)`` for 23505, ``Failing
row contains (…)`` for 23502/23514), and some primary messages quote the offending input
(``invalid input syntax for type integer: "…"``). asyncpg's own encoding errors quote the
Python value. ``str(exc)`` and everything logged must carry none of it; ``detail`` may.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest
import structlog
from fix_database import INSERT_ITEM, MakeDb, new_tenant

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.local import LocalDatabase
from tenantdb.query import Command, Param, Query

SECRET = "s3cr3t-4242-value"


def _q(name: str, sql: str, *types: str) -> Query[Any]:
    params = tuple(Param(name=f"p{i}", number=i, pg_type=t) for i, t in enumerate(types, 1))
    return Query(name=name, command=Command.EXEC, sql=sql, data_api_sql=sql, params=params)


CAST_INT = _q("CastInt", "SELECT $1::text::int", "text")
CAST_UUID = _q("CastUuid", "SELECT $1::text::uuid", "text")
CAST_JSON = _q("CastJson", "SELECT $1::text::jsonb", "text")
CAST_DATE = _q("CastDate", "SELECT $1::text::date", "text")
INT_PARAM = _q("IntParam", "SELECT $1::int4", "int4")
UUID_PARAM = _q("UuidParam", "SELECT $1::uuid", "uuid")
RAISE_WITH_VALUE = _q(
    "RaiseWithValue",
    "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = 'boom', DETAIL = 's3cr3t-4242-value'; END $$",
)


def _assert_clean(exc: BaseException) -> None:
    """Neither the message nor a logged traceback (the whole chain) shows the value."""
    assert SECRET not in "".join(traceback.format_exception(exc))
    assert SECRET not in str(exc)
    assert SECRET not in repr(exc)
    assert SECRET not in " ".join(map(str, exc.args))


async def _fail(db: Any, query: Query[Any], args: tuple[object, ...]) -> errors.TenantDBError:
    with structlog.testing.capture_logs() as logs, pytest.raises(errors.TenantDBError) as info:
        async with db.tenant(TenantContext(tenant_id=new_tenant())) as tx:
            await tx.exec(query, args)
    assert SECRET not in repr(logs)
    snapshot = db.metrics()
    assert SECRET not in repr(snapshot)
    return info.value


async def test_unique_violation_keeps_the_key_in_detail_only(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        ctx = TenantContext(tenant_id=new_tenant())

        async def duplicate() -> None:
            async with db.tenant(ctx) as tx:
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 1, SECRET))
                await tx.exec(INSERT_ITEM, (ctx.tenant_id, 2, SECRET))

        with (
            structlog.testing.capture_logs() as logs,
            pytest.raises(errors.UniqueViolation) as info,
        ):
            await duplicate()
        _assert_clean(info.value)
        assert SECRET not in repr(logs)
        assert info.value.detail is None or SECRET in info.value.detail


@pytest.mark.parametrize("query", [CAST_INT, CAST_UUID, CAST_JSON, CAST_DATE], ids=lambda q: q.name)
@pytest.mark.parametrize(
    "value",
    [SECRET, f'x"{SECRET}', f'"{SECRET}" x', f"x\n{SECRET}", f'{SECRET}" is "'],
    ids=["plain", "inner-quote", "quoted", "newline", "fake-end"],
)
async def test_server_messages_quoting_the_input_are_redacted(
    make_db: MakeDb, query: Query[Any], value: str
) -> None:
    """``invalid input syntax for type integer: "<value>"``: the value stays out, even when
    it contains quotes of its own."""
    db = make_db()
    async with db:
        error = await _fail(db, query, (value,))
    _assert_clean(error)
    assert error.sqlstate in ("22P02", "22007", "22008")  # type: ignore[attr-defined]
    assert "CastInt" in str(error) or query.name in str(error)


@pytest.mark.parametrize(
    ("query", "value"),
    [(INT_PARAM, SECRET), (UUID_PARAM, SECRET), (INT_PARAM, [SECRET])],
    ids=["int", "uuid", "list"],
)
async def test_driver_encoding_errors_do_not_quote_the_value(
    make_db: MakeDb, query: Query[Any], value: object
) -> None:
    """asyncpg's ``invalid input for query argument $1: '<value>'`` is not repeated."""
    db = make_db()
    async with db:
        error = await _fail(db, query, (value,))
    _assert_clean(error)
    assert error.sqlstate == "22023"  # type: ignore[attr-defined]
    assert "$1" in str(error)


async def test_detail_of_a_raised_exception_stays_in_detail(make_db: MakeDb) -> None:
    db = make_db()
    async with db:
        error = await _fail(db, RAISE_WITH_VALUE, ())
    _assert_clean(error)
    assert error.detail == SECRET  # type: ignore[attr-defined]


async def test_not_null_and_check_violations_keep_the_row_in_detail(
    make_db: MakeDb, items_pg: LocalDatabase
) -> None:
    insert_null = _q(
        "InsertNullName",
        "INSERT INTO items (tenant_id, id, name, secret) VALUES ($1, 1, NULL, $2)",
        "uuid",
        "text",
    )
    db = make_db()
    async with db:
        ctx = TenantContext(tenant_id=new_tenant())
        with pytest.raises(errors.NotNullViolation) as info:
            async with db.tenant(ctx) as tx:
                await tx.exec(insert_null, (ctx.tenant_id, SECRET))
    _assert_clean(info.value)
