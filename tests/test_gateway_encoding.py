"""Gateway encodings beyond §5: more types, JSON format values, parameter edge cases."""

from __future__ import annotations

import json
import math

import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api, open_rds_data, param

from tenantdb.local import LocalDataApi


def one(res: dict[str, object]) -> object:
    return res["records"][0][0]  # type: ignore[index]


async def test_float4_prints_like_postgres(api: Api) -> None:
    assert one(await api.execute("select 0.1::float4")) == {"doubleValue": 0.1}


async def test_non_finite_doubles(api: Api) -> None:
    res = await api.execute("select 'NaN'::float8, 'Infinity'::float8")
    nan, inf = (next(iter(f.values())) for f in res["records"][0])
    assert math.isnan(nan) and inf == float("inf")


async def test_timetz_in_utc(api: Api) -> None:
    assert one(await api.execute("select '15:30:00-08'::timetz")) == {"stringValue": "23:30:00"}


async def test_enum_and_char(api: Api) -> None:
    res = await api.execute("select 'ab'::char(3), 'x'::name, '10.0.0.1'::inet")
    assert res["records"] == [
        [{"stringValue": "ab "}, {"stringValue": "x"}, {"stringValue": "10.0.0.1"}]
    ]


async def test_string_arrays_of_typed_elements(api: Api) -> None:
    res = await api.execute(
        "select array['550e8400-e29b-41d4-a716-446655440000'::uuid], "
        "'{1.50,2}'::numeric[], array['2024-01-02 03:04:05.5'::timestamp], "
        """array['{"a": 1}'::jsonb]"""
    )
    assert res["records"] == [
        [
            {"arrayValue": {"stringValues": ["550e8400-e29b-41d4-a716-446655440000"]}},
            {"arrayValue": {"stringValues": ["1.50", "2"]}},
            {"arrayValue": {"stringValues": ["2024-01-02 03:04:05.5"]}},
            {"arrayValue": {"stringValues": ['{"a":1}']}},
        ]
    ]


async def test_json_format_values(api: Api) -> None:
    res = await api.execute(
        "select 1 as i, 1.5::float8 as f, 2.50::numeric(4,2) as d, true as b, "
        "'\\x6869'::bytea as y, null::text as n, '{1,2}'::int[] as a, "
        """'{"k": [1]}'::jsonb as j, '2024-01-02'::date as dt""",
        formatRecordsAs="JSON",
    )
    assert "records" not in res
    assert json.loads(res["formattedRecords"]) == [
        {
            "i": 1,
            "f": 1.5,
            "d": "2.50",
            "b": True,
            "y": "aGk=",
            "n": None,
            "a": [1, 2],
            "j": '{"k":[1]}',
            "dt": "2024-01-02",
        }
    ]


async def test_json_format_return_type_options(api: Api) -> None:
    res = await api.execute(
        "select 7::int8 as l, 2.5::numeric(4,2) as d",
        formatRecordsAs="JSON",
        resultSetOptions={"longReturnType": "STRING", "decimalReturnType": "DOUBLE_OR_LONG"},
    )
    assert json.loads(res["formattedRecords"]) == [{"l": "7", "d": 2.5}]


async def test_json_format_duplicate_labels_rejected(api: Api) -> None:
    with pytest.raises(ClientError):
        await api.execute("select 1 as x, 2 as x", formatRecordsAs="JSON")


async def test_json_format_ignored_for_dml(api: Api) -> None:
    res = await api.execute("insert into t(tag) values ('json-dml')", formatRecordsAs="JSON")
    assert res["numberOfRecordsUpdated"] == 1
    assert "formattedRecords" not in res


async def test_update_counts_and_returning(api: Api) -> None:
    await api.execute("insert into t(tag) values ('cnt'), ('cnt')")
    res = await api.execute("update t set a = 1 where tag = 'cnt'")
    assert res["numberOfRecordsUpdated"] == 2
    assert res["generatedFields"] == []
    res = await api.execute("delete from t where tag = 'cnt' returning tag")
    assert res["records"] == [[{"stringValue": "cnt"}]] * 2
    assert res["numberOfRecordsUpdated"] == 0


@pytest.mark.parametrize(
    ("hint", "value", "sql", "expected"),
    [
        ("DATE", "2024-02-29", "select :v + 1", "2024-03-01"),
        ("TIME", "12:30:00.25", "select :v", "12:30:00.25"),
        ("DECIMAL", "1.10", "select :v * 2", "2.20"),
        (
            "UUID",
            "550E8400-E29B-41D4-A716-446655440000",
            "select :v",
            "550e8400-e29b-41d4-a716-446655440000",
        ),
        ("JSON", '{"a": 1}', "select :v::jsonb", '{"a":1}'),
    ],
)
async def test_type_hints(api: Api, hint: str, value: str, sql: str, expected: str) -> None:
    res = await api.execute(sql, param("v", hint, stringValue=value))
    assert one(res) == {"stringValue": expected}


async def test_other_parameter_members(api: Api) -> None:
    res = await api.execute(
        "select :b, :l, :d, :y, :n::int is null",
        param("b", booleanValue=True),
        param("l", longValue=-(2**63)),
        param("d", doubleValue=2.5),
        param("y", blobValue=b"\x00\x01"),
        param("n", isNull=True),
    )
    assert res["records"] == [
        [
            {"booleanValue": True},
            {"longValue": -(2**63)},
            {"doubleValue": 2.5},
            {"blobValue": b"\x00\x01"},
            {"booleanValue": True},
        ]
    ]


async def test_missing_parameter_is_a_bad_request(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select :absent::text")
    assert err.value.response["Error"]["Code"] == "BadRequestException"
    assert "absent" in err.value.response["Error"]["Message"]


async def test_unused_parameters_are_ignored(api: Api) -> None:
    res = await api.execute("select 1", param("extra", longValue=1))
    assert one(res) == {"longValue": 1}


async def test_untyped_null_parameter_fails_like_postgres(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select :p is null", param("p", isNull=True))
    assert err.value.response["Error"]["Message"].endswith("SQLState: 42P18")


async def test_unknown_resource_and_secret(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.client.execute_statement(
            resourceArn="arn:aws:rds:us-east-1:123456789012:cluster:other",
            secretArn=api.secret,
            sql="select 1",
        )
    assert err.value.response["Error"]["Code"] == "HttpEndpointNotEnabledException"
    with pytest.raises(ClientError) as err:
        await api.client.execute_statement(
            resourceArn=api.gw.resource_arn,
            secretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:nope",
            sql="select 1",
        )
    assert err.value.response["Error"]["Code"] == "SecretsErrorException"


async def test_unknown_database_is_a_database_error(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", database="no_such_db")
    assert err.value.response["Error"]["Code"] == "DatabaseErrorException"
    assert err.value.response["Error"]["Message"].endswith("SQLState: 3D000")


async def test_syntax_error_and_unterminated_string(api: Api) -> None:
    for sql in ("selec 1", "select 'oops"):
        with pytest.raises(ClientError) as err:
            await api.execute(sql)
        assert err.value.response["Error"]["Message"].endswith("SQLState: 42601")


async def test_user_defined_types(api: Api) -> None:
    res = await api.execute(
        "select 'happy'::mood, array['sad'::mood, null], 5::positive_int",
        includeResultMetadata=True,
    )
    assert res["records"] == [
        [
            {"stringValue": "happy"},
            {"arrayValue": {"stringValues": ["sad", None]}},
            {"longValue": 5},
        ]
    ]
    assert [m["typeName"] for m in res["columnMetadata"]][:2] == ["mood", "_mood"]
    with pytest.raises(ClientError) as err:
        await api.execute("select row(1, 2)::pair")
    assert err.value.response["Error"]["Code"] == "UnsupportedResultException"


async def test_column_metadata_from_the_table(api: Api) -> None:
    res = await api.execute(
        "select id, tag, n, ts, 1 as expr from t limit 0", includeResultMetadata=True
    )
    meta = {m["name"]: m for m in res["columnMetadata"]}
    assert (meta["id"]["typeName"], meta["id"]["isAutoIncrement"]) == ("bigserial", True)
    assert (meta["id"]["nullable"], meta["id"]["tableName"]) == (0, "t")
    assert (meta["tag"]["typeName"], meta["tag"]["nullable"], meta["tag"]["type"]) == (
        "text",
        1,
        12,
    )
    assert (meta["n"]["precision"], meta["n"]["scale"]) == (10, 2)
    assert (meta["ts"]["typeName"], meta["ts"]["scale"]) == ("timestamp", 6)
    assert (meta["expr"]["tableName"], meta["expr"]["isAutoIncrement"]) == ("", False)


async def test_column_metadata_inside_a_transaction(api: Api) -> None:
    tx = await api.begin()
    await api.execute("create temp table tmp_meta (k int not null)", transactionId=tx)
    res = await api.execute("select k from tmp_meta", transactionId=tx, includeResultMetadata=True)
    assert res["columnMetadata"][0]["typeName"] == "int4"  # type-level fallback still works
    res = await api.execute("select a from t limit 0", transactionId=tx, includeResultMetadata=True)
    assert res["columnMetadata"][0]["tableName"] == "t"
    await api.rollback(tx)


async def test_configs_point_at_the_gateway(gateway: LocalDataApi, gateway_db: str) -> None:
    assert gateway.config.secret_arn == gateway.tenant_secret_arn
    assert gateway.admin_config.secret_arn == gateway.admin_secret_arn
    other = gateway.data_api(gateway_db, admin=True)
    assert (other.database, other.endpoint_url) == (gateway_db, gateway.endpoint_url)
    assert other.resource_arn == gateway.resource_arn
    async with open_rds_data(gateway.endpoint_url) as client:
        res = await client.execute_statement(
            resourceArn=other.resource_arn,
            secretArn=other.secret_arn,
            database=other.database,
            sql="select current_database(), current_user",
        )
    assert res["records"] == [[{"stringValue": gateway_db}, {"stringValue": "app_admin"}]]
