"""Issue 11, item 3 (SDK lane): a block in which a statement failed never reports success,
whatever CommitTransaction says.

AWS answers "Transaction Committed" when committing a transaction whose statement failed
(nothing is written: PostgreSQL rolled it back); pgjdbc-style services answer
DatabaseErrorException 25P02. The gateway can do either (``aborted_commit``); the lane must
raise when leaving such a block under both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from fix_schema import TenantSet

from tenantdb import errors
from tenantdb.context import TenantContext
from tenantdb.database import Database
from tenantdb.local.dataapi import LocalDataApi
from tenantdb.query import Command, Query

_FAIL: Query[Any] = Query(
    name="DivideByZero",
    command=Command.ONE,
    sql="SELECT 1/0",
    data_api_sql="SELECT 1/0",
    from_record=lambda r: r[0],
)
_ONE: Query[Any] = Query(
    name="One",
    command=Command.ONE,
    sql="SELECT 1",
    data_api_sql="SELECT 1",
    from_record=lambda r: r[0],
)


@pytest.fixture(params=["committed", "error"])
def aborted_commit(request: pytest.FixtureRequest, gateway: LocalDataApi) -> Iterator[str]:
    """The session gateway answering a commit after a failed statement like AWS
    ("committed") or like pgjdbc ("error"), restored afterwards."""
    before = gateway.aborted_commit
    gateway.aborted_commit = request.param
    try:
        yield request.param
    finally:
        gateway.aborted_commit = before


def _ctx(tenants: TenantSet) -> TenantContext:
    return TenantContext(tenant_id=tenants.a.tenant_id)


async def _swallow_then_leave(db: Database, tenants: TenantSet, *, more: bool) -> None:
    """A block whose statement fails; the caller swallows the error and leaves normally."""
    async with db.tenant(_ctx(tenants)) as tx:
        with contextlib.suppress(errors.QueryError):
            await tx.one(_FAIL, ())
        if more:
            with contextlib.suppress(errors.TenantDBError):
                await tx.one(_ONE, ())  # 25P02 from PostgreSQL, swallowed too


@pytest.mark.parametrize("more", [False, True], ids=["alone", "then_more"])
async def test_swallowed_statement_error_fails_the_block(
    data_api_db: Database, tenants_abc: TenantSet, aborted_commit: str, more: bool
) -> None:
    with pytest.raises(errors.TenantDBError) as err:
        await _swallow_then_leave(data_api_db, tenants_abc, more=more)
    assert getattr(err.value, "sqlstate", None) == "25P02"
    async with data_api_db.tenant(_ctx(tenants_abc)) as tx:  # the lane is still usable
        assert await tx.one(_ONE, ()) == 1
