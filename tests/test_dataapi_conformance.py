"""DATA_API.md §5: the 43 conformance cases, with plain aioboto3 (and boto3) clients over HTTP.

Each test is one case (``test_c<NN>_...``). Raw-HTTP checks (exact bodies, headers) use aiohttp
directly; everything else goes through botocore's real parser. Cases 28 and 33 start a private
gateway with short timeouts. Driver-side cases 41-43 are shown with a plain client: what the
gateway answers and what botocore makes of it.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anyio
import asyncpg
import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from fix_gateway import Api, open_rds_data, param
from polling import eventually, wait_for_active_query

from tenantdb.local import LocalDataApi, LocalPostgres
from tenantdb.local.dataapi import Fault


async def raw(gw: LocalDataApi, path: str, body: dict[str, Any]) -> tuple[int, Any, Any]:
    """POST a raw JSON body: (status, headers, parsed body)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(gw.endpoint_url + path, json=body) as resp,
    ):
        return resp.status, resp.headers, await resp.json(content_type=None)


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def message(exc: ClientError) -> str:
    return str(exc.response["Error"]["Message"])


def values(res: Any) -> list[list[Any]]:
    """records -> plain values (each Field has exactly one member)."""
    return [[next(iter(f.values())) for f in row] for row in res["records"]]


def tag() -> str:
    return uuid.uuid4().hex


# -- wire and shape --------------------------------------------------------------------------
async def test_c01_select_one_exact_body(gateway: LocalDataApi, api: Api) -> None:
    status, headers, body = await raw(
        gateway, "/Execute", api.args(sql="select 1 as one", database=api.database)
    )
    assert status == 200
    assert body == {"records": [[{"longValue": 1}]], "numberOfRecordsUpdated": 0}
    assert headers["Content-Type"].startswith("application/json")
    assert uuid.UUID(headers["x-amzn-RequestId"]).version == 4
    res = await api.execute("select 1 as one")
    assert res["records"] == [[{"longValue": 1}]]
    assert "columnMetadata" not in res


async def test_c01_plain_boto3_client(gateway: LocalDataApi, gateway_db: str) -> None:
    """Synchronous boto3 too (in a thread: the gateway shares this event loop)."""

    def call() -> Any:
        client = boto3.client(
            "rds-data",
            region_name="us-east-1",
            endpoint_url=gateway.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        return client.execute_statement(
            resourceArn=gateway.resource_arn,
            secretArn=gateway.admin_secret_arn,
            database=gateway_db,
            sql="select 1 as one",
        )

    res = await anyio.to_thread.run_sync(call)
    assert res["records"] == [[{"longValue": 1}]]
    assert res["numberOfRecordsUpdated"] == 0


async def test_c02_column_metadata(api: Api) -> None:
    res = await api.execute("select 1 as one", includeResultMetadata=True)
    meta = res["columnMetadata"][0]
    assert (meta["name"], meta["label"], meta["typeName"], meta["type"]) == (
        "one",
        "one",
        "int4",
        4,
    )


async def test_c03_null_is_one_member(gateway: LocalDataApi, api: Api) -> None:
    res = await api.execute("select null::int as x")
    assert res["records"] == [[{"isNull": True}]]
    _, _, body = await raw(
        gateway, "/Execute", api.args(sql="select null::int as x, 1 as y", database=api.database)
    )
    assert all(len(field) == 1 for field in body["records"][0])


async def test_c04_scalar_members(gateway: LocalDataApi, api: Api) -> None:
    sql = "select true, 1.5::float8, 'a'::text, '\\x00ff'::bytea"
    res = await api.execute(sql)
    assert res["records"] == [
        [
            {"booleanValue": True},
            {"doubleValue": 1.5},
            {"stringValue": "a"},
            {"blobValue": b"\x00\xff"},
        ]
    ]
    _, _, body = await raw(gateway, "/Execute", api.args(sql=sql, database=api.database))
    assert body["records"][0][3] == {"blobValue": "AP8="}


async def test_c05_numeric_as_string_and_double_or_long(api: Api) -> None:
    sql = "select 19.99::numeric(10,2), 0::numeric(10,5)"
    res = await api.execute(sql)
    assert values(res) == [["19.99", "0.00000"]]
    res = await api.execute(sql, resultSetOptions={"decimalReturnType": "DOUBLE_OR_LONG"})
    assert res["records"] == [[{"doubleValue": 19.99}, {"doubleValue": 0.0}]]


async def test_c06_long_return_type_string(api: Api) -> None:
    res = await api.execute(
        "select 9007199254740993::int8", resultSetOptions={"longReturnType": "STRING"}
    )
    assert res["records"] == [[{"stringValue": "9007199254740993"}]]


async def test_c07_uuid_lowercase(api: Api) -> None:
    res = await api.execute("select '550E8400-E29B-41D4-A716-446655440000'::uuid")
    assert res["records"] == [[{"stringValue": "550e8400-e29b-41d4-a716-446655440000"}]]


async def test_c08_jsonb_compact(api: Api) -> None:
    res = await api.execute("""select '{"b": 2, "a": [1, 2], "s": "x y"}'::jsonb""")
    assert res["records"] == [[{"stringValue": '{"a":[1,2],"b":2,"s":"x y"}'}]]


async def test_c09_timestamp_date_time_text_forms(api: Api) -> None:
    res = await api.execute(
        "select '2024-01-02 03:04:05.120'::timestamp, '2024-01-02'::date, '12:00:00.5'::time"
    )
    assert values(res) == [["2024-01-02 03:04:05.12", "2024-01-02", "12:00:00.5"]]


async def test_c10_timestamptz_in_utc_without_offset(api: Api) -> None:
    tx = await api.begin()
    await api.execute("set TimeZone = 'America/New_York'", transactionId=tx)
    res = await api.execute("select '2024-01-02 03:04:05+02'::timestamptz", transactionId=tx)
    assert values(res) == [["2024-01-02 01:04:05"]]
    await api.rollback(tx)


async def test_c11_arrays(gateway: LocalDataApi, api: Api) -> None:
    sql = "select '{1,NULL,3}'::int[], '{a,NULL}'::text[], '{}'::int[], '{t,f}'::bool[]"
    _, _, body = await raw(gateway, "/Execute", api.args(sql=sql, database=api.database))
    assert body["records"] == [
        [
            {"arrayValue": {"longValues": [1, None, 3]}},
            {"arrayValue": {"stringValues": ["a", None]}},
            {"arrayValue": {"longValues": []}},
            {"arrayValue": {"booleanValues": [True, False]}},
        ]
    ]
    res = await api.execute("select '{1,2}'::int[], '{a}'::text[], '{1.5}'::float8[]")
    assert values(res) == [
        [{"longValues": [1, 2]}, {"stringValues": ["a"]}, {"doubleValues": [1.5]}]
    ]


async def test_c11_botocore_null_elements_in_arrays(api: Api) -> None:
    """The §7 trap: botocore < 1.42.58 crashes on NULL in long arrays (aioboto3 15.5 pins it)."""
    fixed = tuple(int(p) for p in botocore.__version__.split(".")[:3]) >= (1, 42, 58)
    if fixed:
        res = await api.execute("select '{1,NULL,3}'::int[]")
        assert values(res) == [[{"longValues": [1, None, 3]}]]
    else:
        with pytest.raises(TypeError):
            await api.execute("select '{1,NULL,3}'::int[]")


async def test_c12_two_dimensional_array_unsupported(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select '{{1,2},{3,4}}'::int[]")
    assert code(err.value) == "UnsupportedResultException"


@pytest.mark.parametrize(
    ("expr", "type_name"),
    [("'1 day'::interval", "interval"), ("'08:00:2b:01:02:03'::macaddr", "macaddr")],
)
async def test_c13_unsupported_types_named(api: Api, expr: str, type_name: str) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute(f"select {expr}")
    assert code(err.value) == "UnsupportedResultException"
    assert type_name in message(err.value)
    res = await api.execute(f"select ({expr})::text")
    assert res["records"][0][0]["stringValue"]


# -- parameters ------------------------------------------------------------------------------
U = "550e8400-e29b-41d4-a716-446655440000"


async def test_c14_uuid_without_hint_is_varchar(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("insert into t(u) values (:u)", param("u", stringValue=U))
    assert code(err.value) == "DatabaseErrorException"
    text = message(err.value)
    assert text.startswith(
        'ERROR: column "u" is of type uuid but expression is of type character varying'
    )
    assert text.endswith("; SQLState: 42804")


async def test_c15_uuid_hint_or_cast(api: Api) -> None:
    res = await api.execute("insert into t(u) values (:u)", param("u", "UUID", stringValue=U))
    assert res["numberOfRecordsUpdated"] == 1
    res = await api.execute("insert into t(u) values (:u::uuid)", param("u", stringValue=U))
    assert res["numberOfRecordsUpdated"] == 1


async def test_c16_uuid_comparison_without_hint(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select * from t where u = :u", param("u", stringValue=U))
    assert code(err.value) == "DatabaseErrorException"
    assert "operator does not exist: uuid = character varying" in message(err.value)
    assert message(err.value).endswith("SQLState: 42883")


async def test_c17_json_hint(api: Api) -> None:
    res = await api.execute(
        "insert into t(j) values (:j)", param("j", "JSON", stringValue='{"a":1}')
    )
    assert res["numberOfRecordsUpdated"] == 1
    with pytest.raises(ClientError) as err:
        await api.execute("insert into t(j) values (:j)", param("j", stringValue='{"a":1}'))
    assert message(err.value).endswith("SQLState: 42804")


async def test_c18_timestamp_hint_round_trip_and_iso_rejected(api: Api) -> None:
    k = tag()
    await api.execute(
        "insert into t(tag, ts) values (:k, :ts)",
        param("k", stringValue=k),
        param("ts", "TIMESTAMP", stringValue="2024-01-02 03:04:05.123456"),
    )
    res = await api.execute("select ts from t where tag = :k", param("k", stringValue=k))
    assert values(res) == [["2024-01-02 03:04:05.123456"]]
    with pytest.raises(ClientError) as err:
        await api.execute(
            "insert into t(ts) values (:ts)",
            param("ts", "TIMESTAMP", stringValue="2024-01-02T03:04:05Z"),
        )
    assert code(err.value) == "BadRequestException"


async def test_c19_double_and_decimal_into_numeric(api: Api) -> None:
    k = tag()
    await api.execute(
        "insert into t(tag, n) values (:k, :n)",
        param("k", stringValue=k),
        param("n", doubleValue=19.999),
    )
    await api.execute(
        "insert into t(tag, n) values (:k, :n)",
        param("k", stringValue=k),
        param("n", "DECIMAL", stringValue="19.99"),
    )
    res = await api.execute("select n from t where tag = :k order by id", param("k", stringValue=k))
    assert values(res) == [["20.00"], ["19.99"]]


async def test_c20_long_into_int4(api: Api) -> None:
    res = await api.execute("insert into t(i4) values (:v)", param("v", longValue=5))
    assert res["numberOfRecordsUpdated"] == 1


async def test_c21_array_parameter_rejected(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select :p", param("p", arrayValue={"longValues": [1]}))
    assert code(err.value) == "ValidationException"
    assert "Array parameters are not supported" in message(err.value)


async def test_c22_empty_value(gateway: LocalDataApi, api: Api) -> None:
    with pytest.raises(ParamValidationError):
        await api.execute("select :p::text", {"name": "p", "value": {}})
    status, headers, body = await raw(
        gateway,
        "/Execute",
        api.args(
            sql="select :p::text", parameters=[{"name": "p", "value": {}}], database=api.database
        ),
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "BadRequestException"
    assert body["message"] == 'Parameter "p" has value with no field set'


async def test_c23_lexing(api: Api) -> None:
    res = await api.execute("select :x::text || :x::text", param("x", stringValue="a"))
    assert values(res) == [["aa"]]
    res = await api.execute("select '::' || :a", param("a", stringValue="b"))
    assert values(res) == [["::b"]]
    res = await api.execute("select ':notaparam'")
    assert values(res) == [[":notaparam"]]
    res = await api.execute("select 1 -- :nope")
    assert values(res) == [[1]]


async def test_c24_numeric_parameter_names(api: Api) -> None:
    res = await api.execute(
        "select :1::int + :2::int", param("1", longValue=1), param("2", longValue=2)
    )
    assert values(res) == [[3]]


# -- statements and limits -------------------------------------------------------------------
async def test_c25_multistatements_rejected(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select 1; select 2")
    assert code(err.value) == "ValidationException"
    assert message(err.value) == "Multistatements aren't supported."
    res = await api.execute("select 1;")
    assert values(res) == [[1]]


async def test_c26_schema_parameter_rejected(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", schema="public")
    assert code(err.value) == "ValidationException"
    assert message(err.value) == "The schema parameter isn't supported"


async def test_c27_response_size_limit_kills_transaction(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select repeat('x', 1100000)")
    assert code(err.value) == "UnsupportedResultException"
    assert "response size limit" in message(err.value)
    tx = await api.begin()
    with pytest.raises(ClientError):
        await api.execute("select repeat('x', 1100000)", transactionId=tx)
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert code(err.value) == "TransactionNotFoundException"


async def _backend_busy(local_pg: LocalPostgres, database: str, pid: int) -> bool:
    conn = await asyncpg.connect(local_pg.dsn("postgres", database))
    try:
        state = await conn.fetchval("select state from pg_stat_activity where pid = $1", pid)
    finally:
        await conn.close()
    return bool(state == "active")


async def test_c28_statement_timeout_cancels(local_pg: LocalPostgres, gateway_db: str) -> None:
    async with (
        LocalDataApi(local_pg, statement_timeout=0.6) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        with pytest.raises(ClientError) as err:
            await api.execute("select pg_sleep(5)")
        assert code(err.value) == "StatementTimeoutException"
        pid = dict(err.value.response)["dbConnectionId"]
        assert isinstance(pid, int)
        assert not await _backend_busy(local_pg, gateway_db, pid)
        # Inside a transaction the cancelled statement aborts it.
        tx = await api.begin()
        with pytest.raises(ClientError):
            await api.execute("select pg_sleep(5)", transactionId=tx)
        with pytest.raises(ClientError) as err:
            await api.execute("select 1", transactionId=tx)
        assert message(err.value).endswith("SQLState: 25P02")
        await api.rollback(tx)


async def test_c28_continue_after_timeout_completes(
    local_pg: LocalPostgres, gateway_db: str, api: Api
) -> None:
    async with (
        LocalDataApi(local_pg, statement_timeout=0.2) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        short = Api(client, gw, gateway_db)
        k = tag()
        with pytest.raises(ClientError) as err:
            await short.execute(
                "insert into t(tag) select :k from pg_sleep(0.6)",
                param("k", stringValue=k),
                continueAfterTimeout=True,
            )
        assert code(err.value) == "StatementTimeoutException"
        # Watch for the detached INSERT through the session gateway (45 s statement limit):
        # a poll under the 0.2 s limit could itself time out on a busy machine.
        with anyio.fail_after(10):
            while True:
                res = await api.execute(
                    "select count(*) from t where tag = :k", param("k", stringValue=k)
                )
                if values(res) == [[1]]:
                    break
                await anyio.sleep(0.1)


async def test_c29_execute_sql_not_supported(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.client.execute_sql(
            dbClusterOrInstanceArn=api.gw.resource_arn,
            awsSecretStoreArn=api.secret,
            sqlStatements="select 1",
        )
    assert 400 <= err.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500


# -- transactions ----------------------------------------------------------------------------
async def _count(api: Api, k: str) -> int:
    res = await api.execute("select count(*) from t where tag = :k", param("k", stringValue=k))
    n: int = values(res)[0][0]
    return n


async def test_c30_commit_makes_rows_visible(api: Api) -> None:
    k = tag()
    tx = await api.begin()
    await api.execute("insert into t(tag) values (:k)", param("k", stringValue=k), transactionId=tx)
    assert await _count(api, k) == 0
    res = await api.commit(tx)
    assert res["transactionStatus"] == "Transaction Committed"
    assert await _count(api, k) == 1


async def test_c31_rollback_discards(api: Api) -> None:
    k = tag()
    tx = await api.begin()
    await api.execute("insert into t(tag) values (:k)", param("k", stringValue=k), transactionId=tx)
    res = await api.rollback(tx)
    assert res["transactionStatus"] == "Rollback Complete"
    assert await _count(api, k) == 0


async def test_c32_unknown_or_ended_transaction(api: Api) -> None:
    bogus = base64.b64encode(b"nope" * 10).decode()
    calls: list[Callable[[], Awaitable[Any]]] = [
        lambda: api.commit(bogus),
        lambda: api.rollback(bogus),
        lambda: api.execute("select 1", transactionId=bogus),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            await call()
        assert code(err.value) == "TransactionNotFoundException"
        assert message(err.value).startswith(f"Transaction {bogus} is not found")
    tx = await api.begin()
    await api.commit(tx)
    with pytest.raises(ClientError) as err:
        await api.commit(tx)
    assert code(err.value) == "TransactionNotFoundException"


async def test_c33_idle_transaction_expires(local_pg: LocalPostgres, gateway_db: str) -> None:
    async with (
        LocalDataApi(local_pg, transaction_idle_timeout=1.0) as gw,
        open_rds_data(gw.endpoint_url) as client,
    ):
        api = Api(client, gw, gateway_db)
        k = tag()
        tx = await api.begin()
        await api.execute(
            "insert into t(tag) values (:k)", param("k", stringValue=k), transactionId=tx
        )
        # The reaper ends it without another call; then the id is unknown and the insert gone.
        await eventually(lambda: _no_open_transactions(gw))
        with pytest.raises(ClientError) as err:
            await api.execute("select 1", transactionId=tx)
        assert code(err.value) == "TransactionNotFoundException"
        assert await _count(api, k) == 0


async def _no_open_transactions(gw: LocalDataApi) -> bool:
    return gw.open_transactions == 0


async def test_c34_concurrent_calls_on_one_transaction(local_pg: LocalPostgres, api: Api) -> None:
    tx = await api.begin()
    slow = asyncio.ensure_future(api.execute("select pg_sleep(2) as c34", transactionId=tx))
    await wait_for_active_query(local_pg, api.database, "pg_sleep(2) as c34")
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert code(err.value) == "DatabaseErrorException"
    assert message(err.value) == "Transaction is still running a query"
    await slow
    await api.commit(tx)


async def test_c35_set_config_is_transaction_local(api: Api, tenant_api: Api) -> None:
    t1, t2 = tag(), tag()
    for tenant, v in ((t1, 1), (t1, 2), (t2, 3)):
        await api.execute(
            "insert into rls_items(tenant, v) values (:t, :v)",
            param("t", stringValue=tenant),
            param("v", longValue=v),
        )
    tx = await tenant_api.begin()
    await tenant_api.execute(
        "select set_config('app.tenant_id', :t, true)", param("t", stringValue=t1), transactionId=tx
    )
    res = await tenant_api.execute("select current_setting('app.tenant_id')", transactionId=tx)
    assert values(res) == [[t1]]
    res = await tenant_api.execute("select tenant, v from rls_items order by v", transactionId=tx)
    assert values(res) == [[t1, 1], [t1, 2]]
    await tenant_api.commit(tx)
    res = await tenant_api.execute("select current_setting('app.tenant_id', true)")
    assert res["records"][0][0] in ({"isNull": True}, {"stringValue": ""})


async def test_c36_error_aborts_transaction_until_rollback(api: Api) -> None:
    tx = await api.begin()
    with pytest.raises(ClientError) as err:
        await api.execute("select 1/0", transactionId=tx)
    assert message(err.value).endswith("SQLState: 22012")
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert message(err.value).endswith("SQLState: 25P02")
    res = await api.rollback(tx)
    assert res["transactionStatus"] == "Rollback Complete"


async def test_c37_session_state_not_shared_between_calls(api: Api) -> None:
    await api.execute("set search_path to other")
    res = await api.execute("show search_path")
    assert values(res) == [['"$user", public']]


# -- batch -----------------------------------------------------------------------------------
async def test_c38_batch_insert(api: Api) -> None:
    k = tag()
    res = await api.client.batch_execute_statement(
        **api.args(
            sql="insert into t(tag, a) values (:k, :a)",
            database=api.database,
            parameterSets=[[param("k", stringValue=k), param("a", longValue=i)] for i in (1, 2, 3)],
        )
    )
    assert res["updateResults"] == [{"generatedFields": []}] * 3
    assert await _count(api, k) == 3
    res = await api.client.batch_execute_statement(
        **api.args(
            sql="insert into t(tag) values (:k) returning id",
            database=api.database,
            parameterSets=[[param("k", stringValue=k)]],
        )
    )
    assert res["updateResults"] == [{"generatedFields": []}]


async def test_c39_batch_without_parameter_sets(api: Api) -> None:
    k = tag()
    res = await api.client.batch_execute_statement(
        **api.args(sql=f"insert into t(tag) values ('{k}')", database=api.database)
    )
    assert res["updateResults"] == []
    assert await _count(api, k) == 0


async def test_c40_batch_is_atomic(api: Api) -> None:
    k = tag()
    with pytest.raises(ClientError) as err:
        await api.client.batch_execute_statement(
            **api.args(
                sql="insert into t(tag, a) values (:k, :a)",
                database=api.database,
                parameterSets=[
                    [param("k", stringValue=k), param("a", longValue=a)] for a in (1, -1, 2)
                ],
            )
        )
    assert code(err.value) == "DatabaseErrorException"
    assert message(err.value).endswith("SQLState: 23514")
    assert await _count(api, k) == 0


# -- errors and retry ------------------------------------------------------------------------
async def test_c41_resuming_twice_then_success(gateway: LocalDataApi, api: Api) -> None:
    gateway.inject(Fault.RESUMING, times=2)
    codes = []
    for _ in range(5):
        try:
            res = await api.execute("select 1")
            break
        except ClientError as exc:
            codes.append(code(exc))
    assert codes == ["DatabaseResumingException"] * 2
    assert values(res) == [[1]]


async def test_c42_504_after_insert_is_not_resent(gateway: LocalDataApi, api: Api) -> None:
    k = tag()
    gateway.inject(Fault.DATABASE_UNAVAILABLE, operations=["ExecuteStatement"], when="after")
    with pytest.raises(ClientError) as err:
        await api.execute("insert into t(tag) values (:k)", param("k", stringValue=k))
    assert code(err.value) == "DatabaseUnavailableException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 504
    assert err.value.response["ResponseMetadata"]["RetryAttempts"] == 0
    assert await _count(api, k) == 1


async def test_c43_error_header_and_type_body(gateway: LocalDataApi, api: Api) -> None:
    status, headers, body = await raw(
        gateway, "/Execute", api.args(sql="select 1/0", database=api.database)
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "DatabaseErrorException"
    assert body["__type"] == "DatabaseErrorException"
    assert body["message"].endswith("SQLState: 22012")
    assert uuid.UUID(headers["x-amzn-RequestId"]).version == 4
    with pytest.raises(api.client.exceptions.DatabaseErrorException):
        await api.execute("select 1/0")
