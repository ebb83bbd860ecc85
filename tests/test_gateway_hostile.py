"""Hostile input (issue 11, items 10-12): the request can never choose the role, startup
parameters or another caller's fate; malformed values answer typed JSON errors that do not
echo what was sent."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, param

from tenantdb.local import LocalDataApi, LocalPostgres


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


_INJECTED_DATABASES = [
    "{db}\0user\0app_admin",
    "{db}\0user\0postgres",
    "{db}\0options\0-c role=app_admin",
    "{db}\0options\0-c search_path=pg_catalog",
    "\0user\0postgres",
    "{db}\0",
    "{db}\x01",
    "{db}\n",
]


@pytest.mark.parametrize("template", _INJECTED_DATABASES)
async def test_database_field_cannot_reach_the_startup_packet(
    tenant_api: Api, template: str
) -> None:
    """A NUL (or any control character) in ``database`` is a ValidationException; the
    statement never runs, let alone as the admin role or the superuser."""
    database = template.format(db=tenant_api.database)
    with pytest.raises(ClientError) as err:  # never runs: the role comes from the secret
        await tenant_api.execute("select current_user, session_user", database=database)
    assert code(err.value) == "ValidationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "\0" not in err.value.response["Error"]["Message"]
    assert "app_admin" not in err.value.response["Error"]["Message"]


@pytest.mark.parametrize("template", _INJECTED_DATABASES[:3])
async def test_database_field_cannot_choose_the_role_of_a_transaction(
    tenant_api: Api, template: str
) -> None:
    database = template.format(db=tenant_api.database)
    with pytest.raises(ClientError) as err:
        await tenant_api.client.begin_transaction(**tenant_api.args(database=database))
    assert code(err.value) == "ValidationException"


async def test_tenant_secret_always_runs_as_the_tenant_role(
    tenant_api: Api, api: Api, gateway: LocalDataApi
) -> None:
    res = await tenant_api.execute("select current_user, session_user")
    assert res["records"] == [[{"stringValue": "app_tenant"}, {"stringValue": "app_tenant"}]]
    # metadata goes through the raw describe connection: same rule there
    res = await tenant_api.execute("select current_user as u", includeResultMetadata=True)
    assert res["records"] == [[{"stringValue": "app_tenant"}]]


async def test_database_name_like_a_real_one_still_works(
    local_pg: LocalPostgres, tenant_api: Api
) -> None:
    """Ordinary names (AWS: 0-64 characters) keep working, including spaces and quotes,
    which are legal PostgreSQL database names."""
    with pytest.raises(ClientError) as err:
        await tenant_api.execute("select 1", database="no such db 'x\"")
    assert code(err.value) == "DatabaseErrorException"
    assert "3D000" in err.value.response["Error"]["Message"]
    res = await tenant_api.execute("select 1", database="")  # empty: the default database
    assert res["records"] == [[{"longValue": 1}]]


@pytest.mark.parametrize("hint", [{"a": 1}, ["DATE"], 5, True, "date", "FOO"])
async def test_typehint_of_any_shape_is_a_typed_error(
    tenant_api: Api, gateway: LocalDataApi, hint: Any
) -> None:
    body = tenant_api.args(
        sql="select :p",
        database=tenant_api.database,
        parameters=[{"name": "p", "value": {"stringValue": "x"}, "typeHint": hint}],
    )
    status, headers, payload = await _raw_post(gateway, "/Execute", body)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert payload["__type"] == "ValidationException"
    assert str(hint) not in payload["message"] or str(hint) in ("5", "True")


@pytest.mark.parametrize("hint", ["DATE", "TIME", "TIMESTAMP"])
async def test_hint_format_error_does_not_echo_the_value(tenant_api: Api, hint: str) -> None:
    secret = "s3cr3t-2024-01-02T03:04:05Z"
    with pytest.raises(ClientError) as err:
        await tenant_api.execute("select :p", param("p", hint, stringValue=secret))
    assert code(err.value) == "BadRequestException"
    assert secret not in err.value.response["Error"]["Message"]


async def test_unknown_path_does_not_echo_it(gateway: LocalDataApi) -> None:
    status, _, payload = await _raw_post(gateway, "/<script>secret", {})
    assert status == 404
    assert "secret" not in payload["message"]


async def test_fault_endpoint_is_off_by_default(gateway: LocalDataApi, api: Api) -> None:
    """Any local process could otherwise drop other callers' transactions."""
    tx = await api.begin()
    url = gateway.endpoint_url + "/_tenantdb/faults"
    async with aiohttp.ClientSession() as http:
        for method in ("GET", "POST", "DELETE"):
            async with http.request(method, url, json={"fault": "drop_transaction"}) as resp:
                assert resp.status == 404
                assert (await resp.json())["__type"] == "UnknownOperationException"
    res = await api.execute("select 1", transactionId=tx)
    assert res["records"] == [[{"longValue": 1}]]
    await api.commit(tx)


async def test_fault_endpoint_wants_its_token(local_pg: LocalPostgres, gateway_db: str) -> None:
    async with LocalDataApi(local_pg, fault_token="t0k3n") as gw:
        url = gw.endpoint_url + "/_tenantdb/faults"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"x-tenantdb-fault-token": "wrong"}):
                async with http.post(url, json={"fault": "throttling"}, headers=headers) as resp:
                    assert resp.status == 403
                    assert (await resp.json())["__type"] == "AccessDeniedException"
            ok = {"x-tenantdb-fault-token": "t0k3n"}
            async with http.post(url, json={"fault": "throttling"}, headers=ok) as resp:
                assert resp.status == 200
                assert (await resp.json())["faults"][0]["fault"] == "throttling"
            async with http.post(url, data=b"not json", headers=ok) as resp:
                assert resp.status == 400
            async with http.delete(url, headers=ok) as resp:
                assert (await resp.json())["faults"] == []


async def _raw_post(
    gw: LocalDataApi, path: str, body: Any, *, raw: bytes | None = None
) -> tuple[int, Any, Any]:
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"data": raw} if raw is not None else {"json": body}
        async with http.post(gw.endpoint_url + path, **kwargs) as resp:
            text = await resp.read()
            try:
                import json

                payload = json.loads(text)
            except ValueError:
                payload = None
            return resp.status, resp.headers, payload
