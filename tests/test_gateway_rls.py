"""The tenant secret runs as the NOBYPASSRLS tenant role: RLS decides what it sees."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, param


async def _seed(api: Api) -> tuple[str, str]:
    a, b = uuid.uuid4().hex, uuid.uuid4().hex
    for tenant, v in ((a, 1), (a, 2), (b, 3)):
        await api.execute(
            "insert into rls_items(tenant, v) values (:t, :v)",
            param("t", stringValue=tenant),
            param("v", longValue=v),
        )
    return a, b


async def _tenant_rows(tenant_api: Api, tenant: str, sql: str) -> list[int]:
    tx = await tenant_api.begin()
    try:
        await tenant_api.execute(
            "select set_config('app.tenant_id', :t, true)",
            param("t", stringValue=tenant),
            transactionId=tx,
        )
        res = await tenant_api.execute(sql, transactionId=tx)
        return [row[0]["longValue"] for row in res["records"]]
    finally:
        await tenant_api.rollback(tx)


async def test_tenant_secret_sees_only_its_context(api: Api, tenant_api: Api) -> None:
    a, b = await _seed(api)
    assert await _tenant_rows(tenant_api, a, "select v from rls_items order by v") == [1, 2]
    assert await _tenant_rows(tenant_api, b, "select v from rls_items order by v") == [3]


async def test_tenant_secret_without_context_sees_nothing(api: Api, tenant_api: Api) -> None:
    await _seed(api)
    res = await tenant_api.execute("select count(*) from rls_items")
    assert res["records"] == [[{"longValue": 0}]]


async def test_admin_secret_sees_all(api: Api) -> None:
    a, b = await _seed(api)
    res = await api.execute(
        "select count(*) from rls_items where tenant in (:a, :b)",
        param("a", stringValue=a),
        param("b", stringValue=b),
    )
    assert res["records"] == [[{"longValue": 3}]]


async def test_tenant_cannot_write_another_tenants_row(api: Api, tenant_api: Api) -> None:
    a, b = await _seed(api)
    tx = await tenant_api.begin()
    await tenant_api.execute(
        "select set_config('app.tenant_id', :t, true)", param("t", stringValue=a), transactionId=tx
    )
    with pytest.raises(ClientError) as err:
        await tenant_api.execute(
            "insert into rls_items(tenant, v) values (:t, 9)",
            param("t", stringValue=b),
            transactionId=tx,
        )
    assert err.value.response["Error"]["Message"].endswith("SQLState: 42501")
    await tenant_api.rollback(tx)
    tx = await tenant_api.begin()
    await tenant_api.execute(
        "select set_config('app.tenant_id', :t, true)", param("t", stringValue=a), transactionId=tx
    )
    res = await tenant_api.execute(
        "update rls_items set v = 100 where tenant = :b",
        param("b", stringValue=b),
        transactionId=tx,
    )
    assert res["numberOfRecordsUpdated"] == 0
    await tenant_api.commit(tx)


async def test_context_does_not_leak_to_the_next_call(api: Api, tenant_api: Api) -> None:
    a, _ = await _seed(api)
    # Session-level (not transaction-local) set_config outside a transaction: the gateway's
    # per-call DISCARD ALL must not let it reach the next call on the pooled connection.
    await tenant_api.execute(
        "select set_config('app.tenant_id', :t, false)", param("t", stringValue=a)
    )
    for _ in range(5):
        res = await tenant_api.execute("select count(*) from rls_items")
        assert res["records"] == [[{"longValue": 0}]]


async def test_tenant_role_cannot_change_role(tenant_api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await tenant_api.execute("set role app_admin")
    assert err.value.response["Error"]["Code"] == "DatabaseErrorException"
    res = await tenant_api.execute("select current_user")
    assert res["records"] == [[{"stringValue": "app_tenant"}]]
