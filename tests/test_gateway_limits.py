"""Gateway limits: response and request size, the connection cap, statement timeout."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, open_rds_data, param

from tenantdb.local import LocalDataApi, LocalPostgres


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


async def test_response_just_under_the_limit_passes(api: Api) -> None:
    res = await api.execute("select repeat('x', 1000000)")
    assert len(res["records"][0][0]["stringValue"]) == 1_000_000


async def test_response_over_the_limit_deletes_the_transaction(api: Api) -> None:
    tx = await api.begin()
    await api.execute("insert into t(tag) values ('size-limit')", transactionId=tx)
    with pytest.raises(ClientError) as err:
        await api.execute("select repeat('x', 600000) from generate_series(1, 2)", transactionId=tx)
    assert code(err.value) == "UnsupportedResultException"
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: api.execute("select 1", transactionId=tx),
        lambda: api.rollback(tx),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            await call()
        assert code(err.value) == "TransactionNotFoundException"
        assert "termination" in err.value.response["Error"]["Message"]
    res = await api.execute("select count(*) from t where tag = 'size-limit'")
    assert res["records"] == [[{"longValue": 0}]]


async def test_json_format_has_its_own_10_mb_limit(api: Api) -> None:
    """formattedRecords: "The size limit for this field is currently 10 MB" (botocore model),
    so 1.1 MB passes where records would not; test_gateway_aws_parity covers the 10 MB."""
    res = await api.execute("select repeat('x', 1100000) as x", formatRecordsAs="JSON")
    assert len(res["formattedRecords"]) > 1_100_000


# aiohttp (under aiobotocore) warns about sending >1 MiB bodies from memory: not our concern.
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_request_over_4_mib_is_rejected(api: Api) -> None:
    blob = b"\0" * (3 * 1024 * 1024 + 512 * 1024)  # 3.5 MiB raw -> ~4.7 MiB base64
    with pytest.raises(ClientError) as err:
        await api.execute("select length(:b)", param("b", blobValue=blob))
    assert code(err.value) == "BadRequestException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


# aiohttp (under aiobotocore) warns about sending >1 MiB bodies from memory: not our concern.
@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")
async def test_request_under_4_mib_passes(api: Api) -> None:
    blob = b"\1" * (2 * 1024 * 1024)
    res = await api.execute("select length(:b)", param("b", blobValue=blob))
    assert res["records"] == [[{"longValue": len(blob)}]]
    assert base64.b64encode(blob)  # the request body was ~2.7 MiB of base64


async def test_connection_cap_answers_connection_not_available(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with (
        LocalDataApi(local_pg, max_connections=2, connection_timeout=0.3) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        held = [await api.begin(), await api.begin()]
        for call in (api.begin, lambda: api.execute("select 1")):
            with pytest.raises(ClientError) as err:
                await call()
            assert code(err.value) == "StatementTimeoutException"
            assert err.value.response["Error"]["Message"] == (
                "Connection is not available, request timed out"
            )
        assert gw.open_connections == 2
        await api.commit(held[0])
        res = await api.execute("select 1")  # a freed slot is reused
        assert res["records"] == [[{"longValue": 1}]]
        await api.rollback(held[1])


async def test_connection_cap_queues_briefly(local_pg: LocalPostgres, gateway_db: str) -> None:
    """Callers over the cap wait for a free connection (within connection_timeout)."""
    async with (
        LocalDataApi(local_pg, max_connections=2, connection_timeout=30) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        results = await asyncio.gather(*(api.execute("select pg_sleep(0.05), 1") for _ in range(8)))
        assert all(r["records"][0][1] == {"longValue": 1} for r in results)
        assert gw.open_connections <= 2


async def test_statement_timeout_leaves_the_connection_usable(
    local_pg: LocalPostgres, gateway_db: str
) -> None:
    async with (
        LocalDataApi(local_pg, statement_timeout=0.6, max_connections=1) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        for _ in range(2):
            with pytest.raises(ClientError) as err:
                await api.execute("select pg_sleep(3)")
            assert code(err.value) == "StatementTimeoutException"
            res = await api.execute("select 2")
            assert res["records"] == [[{"longValue": 2}]]


async def test_sql_longer_than_65536_characters_is_rejected(api: Api) -> None:
    padding = " " * 65536
    with pytest.raises(ClientError) as err:
        await api.execute(f"select 1{padding}")
    assert code(err.value) == "ValidationException"
    res = await api.execute("select 1" + " " * (65536 - 8))
    assert res["records"] == [[{"longValue": 1}]]
