"""Fault injection: each fault type, through the API and through the admin HTTP path."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, open_rds_data, param

from tenantdb.local import LocalDataApi, LocalPostgres
from tenantdb.local.dataapi import Fault


@pytest.fixture(autouse=True)
async def _no_leftover_faults(gateway: LocalDataApi) -> AsyncIterator[None]:
    gateway.clear_faults()
    yield
    gateway.clear_faults()


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.mark.parametrize(
    ("fault", "expected_code", "expected_status"),
    [
        (Fault.THROTTLING, "ThrottlingException", 400),
        (Fault.RESUMING, "DatabaseResumingException", 400),
        (Fault.SERVICE_UNAVAILABLE, "ServiceUnavailableError", 503),
        (Fault.DATABASE_UNAVAILABLE, "DatabaseUnavailableException", 504),
        (Fault.INTERNAL_ERROR, "InternalServerErrorException", 500),
    ],
)
async def test_fault_answers_like_aws_for_n_calls(
    gateway: LocalDataApi, api: Api, fault: Fault, expected_code: str, expected_status: int
) -> None:
    gateway.inject(fault, times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as err:
            await api.execute("select 1")
        assert (code(err.value), status(err.value)) == (expected_code, expected_status)
        assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    res = await api.execute("select 1")
    assert res["records"] == [[{"longValue": 1}]]


async def test_throttling_is_not_executed(gateway: LocalDataApi, api: Api) -> None:
    gateway.inject(Fault.THROTTLING)
    with pytest.raises(ClientError):
        await api.execute("insert into t(tag) values ('throttled')")
    res = await api.execute("select count(*) from t where tag = 'throttled'")
    assert res["records"] == [[{"longValue": 0}]]


async def test_fault_limited_to_operations(gateway: LocalDataApi, api: Api) -> None:
    gateway.inject(Fault.RESUMING, operations=["BeginTransaction"])
    await api.execute("select 1")  # not a BeginTransaction: unaffected
    with pytest.raises(ClientError) as err:
        await api.begin()
    assert code(err.value) == "DatabaseResumingException"
    tx = await api.begin()
    await api.rollback(tx)


async def test_fault_for_a_duration(gateway: LocalDataApi, api: Api) -> None:
    gateway.inject(Fault.RESUMING, duration=60)
    for _ in range(3):
        with pytest.raises(ClientError):
            await api.execute("select 1")
    gateway.clear_faults()
    await api.execute("select 1")


async def test_dropped_transaction(gateway: LocalDataApi, api: Api) -> None:
    tx = await api.begin()
    await api.execute("insert into t(tag) values ('dropped')", transactionId=tx)
    gateway.inject(Fault.DROP_TRANSACTION)
    await api.execute("select 1")  # calls without a transaction do not consume it
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert code(err.value) == "TransactionNotFoundException"
    with pytest.raises(ClientError) as err:
        await api.commit(tx)
    assert code(err.value) == "TransactionNotFoundException"
    res = await api.execute("select count(*) from t where tag = 'dropped'")
    assert res["records"] == [[{"longValue": 0}]]


async def test_fault_after_the_call_ran(gateway: LocalDataApi, api: Api) -> None:
    tx = await api.begin()
    gateway.inject(Fault.SERVICE_UNAVAILABLE, operations=["CommitTransaction"], when="after")
    await api.execute(
        "insert into t(tag) values (:k)", param("k", stringValue="ambiguous"), transactionId=tx
    )
    with pytest.raises(ClientError) as err:
        await api.commit(tx)
    assert status(err.value) == 503
    res = await api.execute("select count(*) from t where tag = 'ambiguous'")
    assert res["records"] == [[{"longValue": 1}]]  # the commit happened; the answer was lost


async def test_admin_http_path(local_pg: LocalPostgres, gateway_db: str) -> None:
    """Fault control over HTTP exists only on a gateway started with a token (the CLI's
    ``--faults``); ``test_gateway_hostile`` covers its absence and a wrong token."""
    async with (
        LocalDataApi(local_pg, fault_token="test-token") as gateway,
        open_rds_data(gateway.endpoint_url) as client,
        aiohttp.ClientSession(headers={"x-tenantdb-fault-token": "test-token"}) as http,
    ):
        api = Api(client, gateway, gateway_db)
        url = gateway.endpoint_url + "/_tenantdb/faults"
        async with http.post(url, json={"fault": "throttling", "times": 1}) as resp:
            assert resp.status == 200
            assert (await resp.json())["faults"][0]["fault"] == "throttling"
        with pytest.raises(ClientError) as err:
            await api.execute("select 1")
        assert code(err.value) == "ThrottlingException"
        async with http.post(url, json={"fault": "resuming", "times": 5}) as resp:
            assert resp.status == 200
        async with http.delete(url) as resp:
            assert (await resp.json())["faults"] == []
        async with http.post(url, json={"fault": "nonsense"}) as resp:
            assert resp.status == 400
        async with http.get(url) as resp:
            body = await resp.json()
            assert body["calls"]["ExecuteStatement"] >= 1
        await api.execute("select 1")


async def test_invalid_injection_is_refused(gateway: LocalDataApi) -> None:
    with pytest.raises(ValueError, match="unknown operations"):
        gateway.inject(Fault.THROTTLING, operations=["Execute"])
    with pytest.raises(ValueError, match="not valid"):
        gateway.inject(Fault.DROP_TRANSACTION, when="after")
