"""Runtime codecs generated code relies on, checked against real PostgreSQL.

* ``array_literal``: the Data API rejects array parameters, so arrays travel as escaped
  literal text cast in SQL; PostgreSQL must parse back exactly the Python list.
* Data API decoders: the text PostgreSQL (and so the Data API) prints for a value decodes to
  what asyncpg returns for the same value, so one ``from_record`` serves both lanes.
* ``data_api_sql``: with every argument sent as the Data API would (varchar text, or the
  typeHint's type), the generated casts make PostgreSQL accept it.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from hospitality import bookings, models

from tenantdb import codecs
from tenantdb._sqllex import named_params, replace_named
from tenantdb.local import LocalDatabase, LocalPostgres
from tenantdb.query import Query


@pytest.fixture
async def conn(local_pg: LocalPostgres) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(local_pg.dsn("postgres", "postgres"))
    yield c
    await c.close()


TRICKY = [
    "a", 'b"c', "back\\slash", "com,ma", "", "NULL", None, " spaced ", "{braces}", "it's",
    "new\nline", "tab\there", "ünïcødé", '\\"', "}{",
]  # fmt: skip


@pytest.mark.parametrize(
    ("value", "sql_type"),
    [
        pytest.param(TRICKY, "text[]", id="text-quotes-backslashes-commas-null"),
        pytest.param([], "text[]", id="empty"),
        pytest.param([None], "text[]", id="only-null"),
        pytest.param([1, -2, None, 2**40], "int8[]", id="int8"),
        pytest.param([[1, 2], [3, None]], "int4[][]", id="2-d"),
        pytest.param([True, False, None], "bool[]", id="bool"),
        pytest.param([decimal.Decimal("19.99"), decimal.Decimal("-0.001")], "numeric[]", id="num"),
        pytest.param([uuid.UUID(int=1), uuid.uuid4()], "uuid[]", id="uuid"),
        pytest.param([datetime.date(2026, 2, 28)], "date[]", id="date"),
        pytest.param(
            [datetime.datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=datetime.UTC)],
            "timestamptz[]",
            id="timestamptz",
        ),
        pytest.param([b"\x00\xffab"], "bytea[]", id="bytea"),
        pytest.param(list(models.BookingStatus), "text[]", id="str-enum"),
    ],
)
async def test_array_literal_round_trips_through_postgresql(
    conn: asyncpg.Connection, value: list[Any], sql_type: str
) -> None:
    literal = codecs.array_literal(value)
    assert isinstance(literal, str)
    back = await conn.fetchval(f"SELECT $1::text::{sql_type}", literal)
    expected = (
        [str(v) for v in value]
        if sql_type == "text[]" and value and value[0] in list(models.BookingStatus)
        else value
    )
    assert back == expected


def test_array_literal_keeps_sql_null() -> None:
    assert codecs.array_literal(None) is None
    assert codecs.array_literal(["x", None]) == '{"x",NULL}'


@pytest.mark.parametrize(
    ("sql", "decode"),
    [
        ("19.990::numeric(10,3)", codecs.decode_numeric),
        ("'1e-7'::numeric", codecs.decode_numeric),
        ("'a0000000-0000-4000-8000-00000000000a'::uuid", codecs.decode_uuid),
        ("'2026-02-28'::date", codecs.decode_date),
        ("'23:23:12.432'::time", codecs.decode_time),
        ("'23:23:12'::time", codecs.decode_time),
        ("'2020-08-28 16:08:27.98831'::timestamp", codecs.decode_timestamp),
        ("'2020-08-28 16:08:27.1'::timestamp", codecs.decode_timestamp),
        ("'2020-08-28 16:08:27'::timestamp", codecs.decode_timestamp),
        ("'192.168.1.5'::inet", codecs.decode_inet),
        ("'10.1.2.3/8'::inet", codecs.decode_inet),
        ("'::1'::inet", codecs.decode_inet),
        ("'10.0.0.0/8'::cidr", codecs.decode_cidr),
        ("'2001:db8::/32'::cidr", codecs.decode_cidr),
        ("0.1::real", lambda text: codecs.decode_float4(float(text))),
        ("'-3.4e38'::real", lambda text: codecs.decode_float4(float(text))),
    ],
)
async def test_data_api_text_decodes_to_what_asyncpg_returns(
    conn: asyncpg.Connection, sql: str, decode: Callable[[str], Any]
) -> None:
    # format('%s') prints the type's output form, the text the Data API returns.
    native, text = await conn.fetchrow(f"SELECT {sql}, format('%s', {sql})")
    assert decode(await conn.fetchval(f"SELECT ({sql})::text")) == native
    decoded = decode(text)
    assert decoded == native
    assert type(decoded) is type(native) or isinstance(decoded, type(native).__mro__[1])


@pytest.mark.parametrize(
    "value",
    ["2020-08-28 16:08:27.98831+00", "2020-08-28 16:08:27+00", "2026-12-31 23:59:59.000001+00"],
)
async def test_timestamptz_decodes_from_the_data_api_utc_form(
    conn: asyncpg.Connection, value: str
) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")
    native, text = await conn.fetchrow(
        "SELECT $1::text::timestamptz, $1::text::timestamptz::text", value
    )
    data_api_form = text.removesuffix("+00")  # the Data API prints UTC without an offset
    for form in (data_api_form, text):
        decoded = codecs.decode_timestamptz(form)
        assert decoded == native and decoded.tzinfo is not None
        assert decoded.utcoffset() == datetime.timedelta(0)


def test_array_decoder_maps_elements_and_keeps_nulls() -> None:
    decode = codecs.array_decoder(codecs.decode_uuid)
    u = uuid.uuid4()
    assert decode([str(u), None]) == [u, None]
    assert decode(None) is None
    assert codecs.array_decoder(None)(["x"]) == ["x"]


def test_map_array_keeps_shape() -> None:
    assert codecs.map_array(str.upper, [["a", None], ["b"]]) == [["A", None], ["B"]]
    assert codecs.map_array(str.upper, None) is None


# -- data_api_sql on PostgreSQL, with arguments typed the way the Data API types them ------

_HINT_TYPES = {"DATE": "date", "TIME": "time", "TIMESTAMP": "timestamp", "DECIMAL": "numeric",
               "JSON": "json", "UUID": "uuid"}  # fmt: skip


def _as_data_api(query: Query[Any], args: tuple[Any, ...]) -> tuple[str, list[Any]]:
    """Rewrite ``:name`` to ``$n`` typed like the Data API binds (varchar without typeHint)."""
    params = {p.name: p for p in query.params}
    order = list(dict.fromkeys(named_params(query.data_api_sql)))
    values = []
    for name in order:
        p = params[name]
        v = args[p.number - 1]
        if p.data_api_encode is not None:
            v = p.data_api_encode(v)
        values.append(None if v is None else str(v))

    def placeholder(name: str) -> str:
        p = params[name]
        n = order.index(name) + 1
        if p.type_hint is None:
            return f"${n}::varchar"
        return f"${n}::text::{_HINT_TYPES[p.type_hint]}"

    return replace_named(query.data_api_sql, placeholder), values


async def test_data_api_sql_accepts_varchar_and_type_hinted_arguments(
    codegen_db: LocalDatabase,
) -> None:
    c = await asyncpg.connect(codegen_db.admin_dsn)
    tx = c.transaction()
    await tx.start()
    try:
        tenant = await c.fetchval(
            "INSERT INTO tenants (slug, name) VALUES ('dapi', 'D') RETURNING id"
        )
        await c.execute("SELECT set_config('app.current_tenant_id', $1, true)", str(tenant))
        prop = await c.fetchval(
            "INSERT INTO properties (tenant_id, code, name) VALUES ($1, 'P', 'P') RETURNING id",
            tenant,
        )
        room = await c.fetchval(
            "INSERT INTO rooms (tenant_id, property_id, number, nightly_rate)"
            " VALUES ($1, $2, '1', 10) RETURNING id",
            tenant,
            prop,
        )
        guest = await c.fetchval(
            "INSERT INTO guests (tenant_id, full_name) VALUES ($1, 'G') RETURNING id", tenant
        )
        create = (
            "BK-D", prop, room, guest, models.BookingStatus.CONFIRMED, datetime.date(2026, 1, 1),
            datetime.date(2026, 1, 2), 2, decimal.Decimal("10.50"), "EUR",
            codecs.encode_json({"a": [1, "x"]}),
        )  # fmt: skip
        sql, values = _as_data_api(bookings.CREATE_BOOKING, create)
        row = await c.fetchrow(sql, *values)
        assert row is not None and row["status"] == "confirmed"
        assert row["total_amount"] == decimal.Decimal("10.50")
        sql, values = _as_data_api(bookings.GET_BOOKINGS_BY_IDS, ([row["id"], uuid.uuid4()],))
        assert [r["id"] for r in await c.fetch(sql, *values)] == [row["id"]]
        first_page = (models.BookingStatus.CONFIRMED, None, None, 10)
        sql, values = _as_data_api(bookings.LIST_BOOKINGS, first_page)
        assert len(await c.fetch(sql, *values)) == 1
        sql, values = _as_data_api(bookings.UPDATE_BOOKING_STATUS, ("cancelled", row["id"]))
        assert (await c.fetchrow(sql, *values))["status"] == "cancelled"
        sql, values = _as_data_api(
            bookings.MERGE_BOOKING_METADATA, (codecs.encode_json({"b": True}), row["id"])
        )
        merged = await c.fetchrow(sql, *values)
        assert codecs.decode_json(merged["metadata"]) == {"a": [1, "x"], "b": True}
        before = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        sql, values = _as_data_api(bookings.PURGE_DELETED_BOOKINGS, (before,))
        assert await c.execute(sql, *values) == "DELETE 0"
    finally:
        await tx.rollback()
        await c.close()
