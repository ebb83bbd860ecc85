"""Issue 9, finding 4: a data exception shows no bound value on either lane, in the same words.

On the Data API lane, ``invalid input syntax for type integer: "s3cr3t-4242-value"`` appeared
in ``str(exc)``, ``repr``, the traceback and the chained botocore error; the asyncpg lane
redacted it. Both lanes now produce the same redacted message, and the chained botocore error
keeps its type and request id but not the value.
"""

from __future__ import annotations

import traceback
from typing import Any

import pytest
import structlog
from fix_gateway import LocalDataApi
from fix_lanes import LANES, open_lane_db
from fix_schema import TenantSet

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.query import Command, Param, Query

SECRET = "s3cr3t-4242-value"


def _q(name: str, sql: str, *types: str) -> Query[Any]:
    params = tuple(Param(name=f"p{i}", number=i, pg_type=t) for i, t in enumerate(types, 1))
    named = sql.replace("$1", ":p1")  # the Data API's placeholders
    return Query(name=name, command=Command.EXEC, sql=sql, data_api_sql=named, params=params)


CASTS = [
    _q("CastInt", "SELECT $1::text::int", "text"),
    _q("CastUuid", "SELECT $1::text::uuid", "text"),
    _q("CastJson", "SELECT $1::text::jsonb", "text"),
    _q("CastDate", "SELECT $1::text::date", "text"),
    _q("CastNumeric", "SELECT $1::text::numeric", "text"),
]
VALUES = [SECRET, f'x"{SECRET}', f'"{SECRET}" x', f"x\n{SECRET}", f'{SECRET}" is "']


def _assert_clean(exc: BaseException) -> None:
    assert SECRET not in "".join(traceback.format_exception(exc))
    assert SECRET not in str(exc)
    assert SECRET not in repr(exc)
    cause = exc.__cause__
    if cause is not None:
        assert SECRET not in str(cause) and SECRET not in repr(cause)
        assert SECRET not in repr(getattr(cause, "response", ""))


async def _fail(db: Any, tenant: str, query: Query[Any], value: str) -> errors.TenantDBError:
    with structlog.testing.capture_logs() as logs, pytest.raises(errors.TenantDBError) as info:
        async with db.tenant(TenantContext(tenant_id=tenant)) as tx:
            await tx.exec(query, (value,))
    assert SECRET not in repr(logs)
    assert SECRET not in repr(db.metrics())
    return info.value


@pytest.mark.parametrize("query", CASTS, ids=lambda q: q.name)
async def test_data_exceptions_are_redacted_alike_on_both_lanes(
    tenants_abc: TenantSet, gateway: LocalDataApi, query: Query[Any]
) -> None:
    seen: dict[str, list[tuple[str, str | None, str]]] = {}
    for kind in LANES:
        async with open_lane_db(kind, tenants_abc, gateway) as db:
            for value in VALUES:
                error = await _fail(db, tenants_abc.a.tenant_id, query, value)
                _assert_clean(error)
                seen.setdefault(kind, []).append(
                    (type(error).__name__, getattr(error, "sqlstate", None), str(error))
                )
    assert seen["asyncpg"] == seen["data_api"]
    assert any("<redacted>" in text for _, _, text in seen["data_api"]) or query.name == "CastJson"


async def test_the_chained_botocore_error_keeps_its_type_and_request_id(
    tenants_abc: TenantSet, gateway: LocalDataApi
) -> None:
    async with open_lane_db("data_api", tenants_abc, gateway) as db:
        error = await _fail(db, tenants_abc.a.tenant_id, CASTS[0], SECRET)
    cause: Any = error.__cause__
    assert type(cause).__name__ == "DatabaseErrorException"
    assert cause.response["Error"]["Code"] == "DatabaseErrorException"
    assert cause.response["ResponseMetadata"]["RequestId"]
    _assert_clean(error)
