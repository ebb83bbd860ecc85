"""Differences from AWS that third-party clients reproduced (issue 11, items 1, 2, 4, 5, 7-9)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fix_gateway import Api

from tenantdb.local import LocalDataApi


def code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


# -- 1. range types come back as their PostgreSQL text ----------------------------------------
@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("'[1,10)'::int4range", "[1,10)"),
        ("'[1000000,2000000]'::int8range", "[1000000,2000001)"),
        ("'[0.0,1.0)'::numrange", "[0.0,1.0)"),
        ("'[2024-01-01,2024-12-31]'::daterange", "[2024-01-01,2025-01-01)"),
        (
            "'[2024-01-01 00:00,2024-12-31 23:59:59]'::tsrange",
            '["2024-01-01 00:00:00","2024-12-31 23:59:59"]',
        ),
        ("'[2024-01-01 00:00+00,)'::tstzrange", '["2024-01-01 00:00:00+00",)'),
        ("'[1,)'::int4range", "[1,)"),
        ("'empty'::int4range", "empty"),
    ],
)
async def test_range_types_are_strings(api: Api, expr: str, text: str) -> None:
    res = await api.execute(f"select {expr} as r")
    assert res["records"] == [[{"stringValue": text}]]
    res = await api.execute(f"select {expr} as r", formatRecordsAs="JSON")
    assert json.loads(res["formattedRecords"]) == [{"r": text}]


async def test_range_arrays_are_string_arrays(api: Api) -> None:
    res = await api.execute("select array['[1,2)'::int4range, null] as r")
    assert res["records"] == [[{"arrayValue": {"stringValues": ["[1,2)", None]}}]]


# -- 2. "char" is the character, not base64 ---------------------------------------------------
async def test_char_is_the_character(api: Api) -> None:
    sql = """select 'q'::"char" as c, relkind from pg_class where relname = 'pg_class'"""
    res = await api.execute(sql)
    assert res["records"] == [[{"stringValue": "q"}, {"stringValue": "r"}]]
    res = await api.execute(sql, formatRecordsAs="JSON")
    assert json.loads(res["formattedRecords"]) == [{"c": "q", "relkind": "r"}]


# -- 4 and 5. what the limits measure ---------------------------------------------------------
async def test_json_result_limit_is_10_mb(api: Api) -> None:
    res = await api.execute("select repeat('x', 3000000) as x", formatRecordsAs="JSON")
    assert len(json.loads(res["formattedRecords"])[0]["x"]) == 3_000_000
    with pytest.raises(ClientError) as err:
        await api.execute("select repeat('x', 10500000) as x", formatRecordsAs="JSON")
    assert code(err.value) == "UnsupportedResultException"


async def test_limit_measures_the_data_not_the_envelope(api: Api) -> None:
    res = await api.execute("select true from generate_series(1, 50000)")
    assert len(res["records"]) == 50000  # ~50 KB of data, ~1.3 MB of JSON envelope
    res = await api.execute("select decode(repeat('ab', 400000), 'hex') as b")
    assert len(res["records"][0][0]["blobValue"]) == 400_000  # 800 KB hex -> 400 KB bytea
    res = await api.execute("select convert_to(repeat('x', 800000), 'UTF8') as b")
    assert len(res["records"][0][0]["blobValue"]) == 800_000  # ~1.07 MB of base64


async def test_limit_still_applies_to_data_over_1_mib(api: Api) -> None:
    with pytest.raises(ClientError) as err:
        await api.execute("select convert_to(repeat('x', 1100000), 'UTF8') as b")
    assert code(err.value) == "UnsupportedResultException"
    with pytest.raises(ClientError) as err:
        await api.execute("select repeat('é', 600000)")  # 600,000 characters, 1.2 MB UTF-8
    assert code(err.value) == "UnsupportedResultException"


async def test_json_limit_inside_a_transaction_terminates_it(api: Api) -> None:
    tx = await api.begin()
    with pytest.raises(ClientError):
        await api.execute(
            "select repeat('x', 10500000) as x", formatRecordsAs="JSON", transactionId=tx
        )
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert code(err.value) == "TransactionNotFoundException"


# -- 7. enum members are validated -------------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {"formatRecordsAs": "json"},
        {"formatRecordsAs": "XML"},
        {"formatRecordsAs": 1},
        {"resultSetOptions": {"longReturnType": "FOO"}},
        {"resultSetOptions": {"longReturnType": "string"}},
        {"resultSetOptions": {"decimalReturnType": "DOUBLE"}},
        {"resultSetOptions": {"decimalReturnType": None, "longReturnType": []}},
        {"resultSetOptions": "STRING"},
    ],
)
async def test_enum_members_outside_the_model_are_refused(
    api: Api, gateway: LocalDataApi, options: dict[str, Any]
) -> None:
    import aiohttp

    body = api.args(sql="select 1", database=api.database, **options)
    async with (
        aiohttp.ClientSession() as http,
        http.post(gateway.endpoint_url + "/Execute", json=body) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["__type"] == "ValidationException"


@pytest.mark.parametrize(
    "options",
    [
        {"formatRecordsAs": "NONE"},
        {"formatRecordsAs": "JSON"},
        {"resultSetOptions": {"longReturnType": "LONG", "decimalReturnType": "STRING"}},
        {"resultSetOptions": {"longReturnType": "STRING", "decimalReturnType": "DOUBLE_OR_LONG"}},
        {"resultSetOptions": {}},
    ],
)
async def test_enum_members_in_the_model_are_accepted(api: Api, options: dict[str, Any]) -> None:
    await api.execute("select 1 as one", **options)


# -- 8. the cause AWS gives after Commit/Rollback ----------------------------------------------
@pytest.mark.parametrize("end", ["commit", "rollback"])
async def test_ended_transaction_wording(api: Api, end: str) -> None:
    tx = await api.begin()
    await getattr(api, end)(tx)
    with pytest.raises(ClientError) as err:
        await api.execute("select 1", transactionId=tx)
    assert code(err.value) == "TransactionNotFoundException"
    assert err.value.response["Error"]["Message"] == (
        f"Transaction {tx} is not found. "
        "One previous call resulted in a termination of your transaction."
    )


# -- 9. columnMetadata as pgjdbc's TypeInfoCache -----------------------------------------------
async def test_column_metadata_matches_pgjdbc(api: Api) -> None:
    cols = {
        "d": "current_date",
        "tm": "localtime",
        "ts": "localtimestamp",
        "ts3": "'2024-01-01 00:00:00.123'::timestamp(3)",
        "tz3": "'2024-01-01 00:00:00.123+00'::timestamptz(3)",
        "ts0": "'2024-01-01'::timestamp(0)",
        "ts1": "'2024-01-01'::timestamp(1)",
        "b": "'\\x00'::bytea",
        "u": "gen_random_uuid()",
        "ch": "'q'::\"char\"",
        "i": "1::int4",
        "t": "'x'::text",
        "j": "'{}'::jsonb",
        "bo": "true",
    }
    sql = "select " + ", ".join(f"{v} as {k}" for k, v in cols.items())
    res = await api.execute(sql, includeResultMetadata=True)
    meta = {m["label"]: m for m in res["columnMetadata"]}
    case = {k: meta[k]["isCaseSensitive"] for k in cols}
    assert case == {
        **dict.fromkeys(("d", "tm", "ts", "ts3", "tz3", "ts0", "ts1", "i", "bo"), False),
        **dict.fromkeys(("b", "u", "ch", "t", "j"), True),
    }
    precision = {k: (meta[k]["precision"], meta[k]["scale"]) for k in cols}
    assert precision["ts3"] == (26, 3)
    assert precision["tz3"] == (32, 3)
    assert precision["ts"] == (29, 6)
    assert precision["ts0"] == (22, 0)
    assert precision["ts1"] == (25, 1)  # pgjdbc: time(1) prints two digits
    assert precision["u"] == (2147483647, 0)
    assert precision["ch"] == (1, 0)
    assert precision["d"] == (13, 0)
    assert precision["tm"] == (15, 6)
    assert meta["ch"]["type"] == 1
